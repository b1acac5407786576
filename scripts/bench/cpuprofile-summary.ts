/**
 * Summarise a V8 `.cpuprofile` (from `node --cpu-prof`) as self and inclusive time per function,
 * the largest first:
 *
 *     node --import tsx scripts/bench/cpuprofile-summary.ts FILE.cpuprofile [top=40] [filter]
 *
 * `filter` keeps only functions whose `name file:line` contains it. Inclusive time counts a
 * function once per sample even when it recurses. Shares are of the samples where the process
 * was not idle (`(idle)` and `(program)` are listed apart).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topArg, filter] = process.argv.slice(2);
if (file === undefined) {
  throw new Error('usage: cpuprofile-summary.ts FILE.cpuprofile [top] [filter]');
}
const top = Number(topArg ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of profile.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) {
    parent.set(c, n.id);
  }
}

const label = (f: CallFrame): string => {
  const short = f.url.replace(/^.*\/(src|modules|cfg|scripts|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${short}:${String(f.lineNumber + 1)}`;
};

const self = new Map<string, number>();
const incl = new Map<string, number>();
let busy = 0;
let idle = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const node = byId.get(id);
  if (node === undefined) {
    return;
  }
  const name = node.callFrame.functionName;
  if (name === '(idle)') {
    idle += dt;
    return;
  }
  busy += dt;
  const l = label(node.callFrame);
  self.set(l, (self.get(l) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur)?.callFrame;
    if (f === undefined) {
      break;
    }
    const fl = label(f);
    if (!seen.has(fl)) {
      seen.add(fl);
      incl.set(fl, (incl.get(fl) ?? 0) + dt);
    }
  }
});

const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
const print = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title}\n`);
  [...m]
    .filter(([l]) => filter === undefined || l.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([l, us]) => process.stdout.write(`${pct(us)}  ${l}\n`));
};
process.stdout.write(
  `busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s, ${String(profile.samples.length)} samples\n`,
);
print('self', self);
print('inclusive', incl);
