/**
 * The workload `scripts/bench/instructions.sh` runs under valgrind: `node instructions.mjs
 * <workload> <ops>` warms the workload up, then runs it `ops` more times. The shell script runs
 * it twice with different counts and divides the difference in instructions by the difference
 * in operations, so start-up, compilation and the warm-up cancel out.
 *
 * Workloads: the parser benchmarks (scripts/bench/parser-workloads.ts) and `proxy-call` (one
 * call of `bench:proxy-core`).
 */
import routes from '../../cfg/routes.js';
import { createCallHarness, FROZEN_CLOCK } from './call-harness.js';
import { parserWorkloads, sinkValue } from './parser-workloads.js';

const [workload = '', opsText = '0'] = process.argv.slice(2);
const ops = Number(opsText);
const parser = (parserWorkloads as Record<string, (() => void) | undefined>)[workload];
if (parser !== undefined) {
  for (let i = 0; i < 30_000 + ops; i++) {
    parser();
  }
} else if (workload === 'proxy-call') {
  const { call, stop } = createCallHarness(routes, FROZEN_CLOCK);
  for (let n = 0; n < 1_000 + ops; n++) {
    await call(n);
  }
  stop();
} else {
  process.stderr.write(`unknown workload ${workload}\n`);
  process.exit(2);
}
if (sinkValue() === 42) {
  process.stdout.write('\n');
}
process.exit(0);
