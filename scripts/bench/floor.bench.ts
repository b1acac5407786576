/**
 * What the parser benchmarks cannot go below on this machine: the bare steps any parser of the
 * 1 KB INVITE pays, timed in the same run as the real operations so the ratios hold however fast
 * the shared VM is at the moment. `npm run bench:floor`; one JSON line
 * per step, `ns` per operation (median of interleaved slices, process CPU time).
 *
 *   decode         the message as one latin1 string (Buffer#toString)
 *   split          decode, then find every line end (String#indexOf per line) up to the empty line
 *   split+fields   split, plus the colon of each line and one small object per line
 *   parse          parseMessage (start line, names, Content-Length, the message object)
 *   parse-invite   parseMessage and the typed reads of the parse-invite benchmark
 *   encode         one 1 KB latin1 string to a new Buffer (what any serializer pays once)
 *   forward-invite the forward-invite benchmark
 */
import { INVITE } from '../../test/fixtures/messages.js';
import { parseMessage } from '../../src/sip/parser.js';
import { parserWorkloads } from './parser-workloads.js';

const invite = Buffer.from(INVITE, 'latin1');
const len = invite.length;
let sink = 0;

/** One object per header line, the least a header list can hold. */
class Line {
  constructor(
    readonly start: number,
    readonly colon: number,
    readonly end: number,
  ) {}
}

function split(text: string): number {
  let pos = text.indexOf('\n') + 1;
  let lines = 0;
  for (;;) {
    const end = text.indexOf('\n', pos);
    if (end < 0 || text.charCodeAt(pos) === 13) {
      return lines;
    }
    lines++;
    pos = end + 1;
  }
}

function splitFields(text: string): Line[] {
  const out: Line[] = [];
  let pos = text.indexOf('\n') + 1;
  for (;;) {
    const end = text.indexOf('\n', pos);
    if (end < 0 || text.charCodeAt(pos) === 13) {
      return out;
    }
    out.push(new Line(pos, text.indexOf(':', pos), end - 1));
    pos = end + 1;
  }
}

const steps: Record<string, () => void> = {
  decode: () => {
    sink += invite.toString('latin1', 0, len).length;
  },
  split: () => {
    sink += split(invite.toString('latin1', 0, len));
  },
  'split+fields': () => {
    sink += splitFields(invite.toString('latin1', 0, len)).length;
  },
  parse: () => {
    sink += parseMessage(invite).headers.length;
  },
  'parse-invite': parserWorkloads['parse-invite'],
  encode: () => {
    sink += Buffer.from(INVITE, 'latin1').length;
  },
  'forward-invite': parserWorkloads['forward-invite'],
};

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Nanoseconds of CPU time per call of `fn` over a slice of `ms`. */
function sample(fn: () => void, ms: number): number {
  let ops = 0;
  const start = cpuMs();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 50; i++) {
      fn();
    }
    ops += 50;
    now = cpuMs();
  }
  return ((now - start) * 1e6) / ops;
}

const names = Object.keys(steps);
const samples = new Map<string, number[]>(names.map((n) => [n, []]));
for (const n of names) {
  sample(steps[n]!, 300);
}
for (let round = 0; round < 11; round++) {
  for (const n of names) {
    samples.get(n)!.push(sample(steps[n]!, 60));
  }
}
for (const n of names) {
  const sorted = [...samples.get(n)!].sort((x, y) => x - y);
  const ns = sorted[sorted.length >> 1] ?? 0;
  process.stdout.write(`${JSON.stringify({ step: n, ns: Math.round(ns) })}\n`);
}
if (sink === 42) {
  process.stdout.write('\n');
}
