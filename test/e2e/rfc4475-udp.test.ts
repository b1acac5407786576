/**
 * Every RFC 4475 torture message sent to a running proxy over UDP: the invalid ones get a
 * 400-class answer or are dropped (when no answer is possible), none is forwarded or answered
 * 2xx, and the proxy keeps serving after each. The corpus names outside hosts, so the proxy runs
 * inside a private network namespace with only loopback up (`unshare -n`).
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { loaderArgs, ROOT } from '../helpers/tandem-process.js';

interface Result {
  name: string;
  valid: boolean;
  request: boolean;
  statuses: number[];
  alive: boolean;
}

const probe = spawnSync('unshare', ['-n', 'true']);
if (probe.status !== 0) {
  t.plan(0, 'unshare -n is not permitted here (needs root or user namespaces)');
} else {
  t.test('RFC 4475 corpus over UDP inside a private network namespace', async (t) => {
    const run = spawnSync(
      'unshare',
      [
        '-n',
        'sh',
        '-c',
        'ip link set lo up && exec "$0" "$@"',
        process.execPath,
        ...loaderArgs(),
        'test/e2e/netns/rfc4475-driver.ts',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    t.equal(run.status, 0, run.stderr.slice(-2000));
    const line = run.stdout.trim().split('\n').at(-1) ?? '{}';
    const { results } = JSON.parse(line) as { results: Result[] };
    t.ok(results.length >= 50, `${results.length} corpus messages sent`);
    let answered = 0;
    let dropped = 0;
    for (const r of results) {
      t.ok(r.alive, `${r.name}: the proxy still answers OPTIONS afterwards`);
      if (r.valid) {
        continue;
      }
      t.notOk(
        r.statuses.some((s) => s < 300),
        `${r.name}: an invalid message is never forwarded or answered 1xx/2xx (${r.statuses.join(',') || 'none'})`,
      );
      if (r.statuses.length > 0) {
        answered++;
        t.ok(
          r.statuses.every((s) => s >= 400 && s < 600),
          `${r.name}: answered with ${r.statuses.join(',')}`,
        );
      } else {
        dropped++;
      }
    }
    t.ok(answered >= 10, `${answered} invalid messages answered with 4xx/5xx, ${dropped} dropped`);
  });
}
