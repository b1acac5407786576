/**
 * Interleaved A/B of two builds in one process: `node ab.mjs <buildA> <buildB> [bench...]`,
 * where each build is a transpiled copy of the message layer (scripts/bench/compare.sh makes
 * them). Both builds run the same workloads in short slices, alternating which goes first, and
 * each slice is timed in process CPU time (`AB_CLOCK=wall` for wall time): on the shared 2-core
 * VM, wall time also counts the moments another process held the core, CPU time does not. The
 * figure to read is `ratio`, the median over rounds of B/A within each round; it moves by about
 * ±3 % between identical builds. Prints one JSON line per benchmark.
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
const register = Buffer.from(fixtures.REGISTER, 'latin1');
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
  'parse-register': (l) => () => {
    const m = l.parser.parseMessage(register);
    sink += m.cseq().seq + m.callId().length + (m.fromTag()?.length ?? 0);
    const c = m.contact();
    sink += (c !== null && !c.star ? c.contacts.length : 0) + (m.topVia()?.host.length ?? 0);
  },
};

/** Milliseconds of process CPU time (user + system), or of wall time with AB_CLOCK=wall. */
const clock =
  process.env['AB_CLOCK'] === 'wall'
    ? (): number => performance.now()
    : (): number => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      };

function sample(fn: () => void, ms: number): number {
  let ops = 0;
  const start = clock();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 50; i++) {
      fn();
    }
    ops += 50;
    now = clock();
  }
  return (ops * 1000) / (now - start);
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1] ?? 0;
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 21);
const SLICE_MS = Number(process.env['AB_SLICE_MS'] ?? 60);

for (const [name, make] of Object.entries(workloads)) {
  if (only.length > 0 ? !only.includes(name) : name === 'parse-register') {
    continue;
  }
  const fa = make(a);
  const fb = make(b);
  sample(fa, 300);
  sample(fb, 300);
  const ra: number[] = [];
  const rb: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which build goes first, so neither always follows the other.
    let x: number;
    let y: number;
    if (i % 2 === 0) {
      x = sample(fa, SLICE_MS);
      y = sample(fb, SLICE_MS);
    } else {
      y = sample(fb, SLICE_MS);
      x = sample(fa, SLICE_MS);
    }
    ra.push(x);
    rb.push(y);
    ratios.push(y / x);
  }
  process.stdout.write(
    `${JSON.stringify({ bench: name, a_ops_per_sec: Math.round(median(ra)), b_ops_per_sec: Math.round(median(rb)), ratio: Number(median(ratios).toFixed(3)) })}\n`,
  );
}
if (sink === 42) {
  process.stdout.write('\n');
}
