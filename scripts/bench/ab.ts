/**
 * Interleaved A/B of two builds in one process: `node ab.js <buildA> <buildB> [bench...]`, where
 * each build is a `tsc` output folder of this repository (scripts/bench/compare.sh makes them).
 * Both builds run the same workloads in alternating short slices, so drift in the machine's
 * speed (tens of percent over seconds on the shared CI VM) hits both alike; the ratio B/A is the
 * figure to read. Prints one JSON line per benchmark.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

import type * as Parser from '../../src/sip/parser.js';
import type * as Validate from '../../src/sip/validate.js';
import type * as Ids from '../../src/sip/ids.js';
import type * as Fixtures from '../../test/fixtures/messages.js';

type ParserModule = typeof Parser;
type ValidateModule = typeof Validate;
type IdsModule = typeof Ids;
type FixturesModule = typeof Fixtures;

interface Build {
  parser: ParserModule;
  validate: ValidateModule;
  ids: IdsModule;
}

async function load(dir: string): Promise<Build> {
  const at = (p: string): string => pathToFileURL(join(dir, p)).href;
  return {
    parser: (await import(at('src/sip/parser.js'))) as ParserModule,
    validate: (await import(at('src/sip/validate.js'))) as ValidateModule,
    ids: (await import(at('src/sip/ids.js'))) as IdsModule,
  };
}

const [dirA, dirB, ...only] = process.argv.slice(2);
if (dirA === undefined || dirB === undefined) {
  process.stderr.write('usage: node ab.js <buildA> <buildB> [bench...]\n');
  process.exit(2);
}
const a = await load(dirA);
const b = await load(dirB);
const fixtures = (await import(
  pathToFileURL(join(dirB, 'test/fixtures/messages.js')).href
)) as FixturesModule;
const invite = Buffer.from(fixtures.INVITE, 'latin1');
const myVia = 'SIP/2.0/UDP 203.0.113.1:5060;branch=';
let sink = 0;

const workloads: Record<string, (l: Build) => () => void> = {
  'parse-invite': (l) => () => {
    const m = l.parser.parseMessage(invite);
    sink += m.cseq().seq + m.callId().length + (m.fromTag()?.length ?? 0);
    sink += (m.toTag()?.length ?? 0) + m.contentLength() + (m.topVia()?.host.length ?? 0);
  },
  'forward-invite': (l) => () => {
    const m = l.parser.parseMessage(invite);
    if (!m.isRequest()) {
      return;
    }
    l.validate.validateRequest(m);
    m.pushVia(myVia + l.ids.newBranch());
    m.decrementMaxForwards();
    m.popRoute();
    sink += m.toBuffer().length;
  },
  'parse-only': (l) => () => {
    sink += l.parser.parseMessage(invite).headers.length;
  },
};

function sample(fn: () => void, ms: number): number {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 50; i++) {
      fn();
    }
    ops += 50;
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1] ?? 0;
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 15);

for (const [name, make] of Object.entries(workloads)) {
  if (only.length > 0 && !only.includes(name)) {
    continue;
  }
  const fa = make(a);
  const fb = make(b);
  sample(fa, 300);
  sample(fb, 300);
  const ra: number[] = [];
  const rb: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    ra.push(sample(fa, 100));
    rb.push(sample(fb, 100));
  }
  const ma = median(ra);
  const mb = median(rb);
  process.stdout.write(
    `${JSON.stringify({ bench: name, a_ops_per_sec: Math.round(ma), b_ops_per_sec: Math.round(mb), ratio: Number((mb / ma).toFixed(3)) })}\n`,
  );
}
if (sink === 42) {
  process.stdout.write('\n');
}
