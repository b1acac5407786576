import t from 'tap';
import { allUp, makeCluster, waitFor } from './harness.js';

const TOTAL = 500 * 1024 * 1024;
const CHUNK = 60 * 1024;

t.test(
  'heartbeats are answered within ping_timeout while 500 MB stream over the bulk lane',
  async (t) => {
    const c = await makeCluster({
      ids: [1, 2],
      extra: {
        timers: { pingIntervalMs: 100, pingTimeoutMs: 1000, noPingRetries: 3, nodeTimeoutMs: 1000 },
      },
    });
    t.teardown(() => c.stop());
    await waitFor(() => allUp(c), 5000, 'all Up');
    const flips: string[] = [];
    for (const id of [1, 2]) {
      c.net(id).onReachability((_c, n, r) => {
        flips.push(`${id}->${n}:${r}`);
      });
    }
    let received = 0;
    let frames = 0;
    c.net(2).onPacket('sync-test', (p) => {
      received += p.payload.length;
      frames++;
    });
    const payload = Buffer.alloc(CHUNK, 0x5a);
    let maxBuffers = 0;
    const sampler = setInterval(() => {
      maxBuffers = Math.max(maxBuffers, process.memoryUsage().arrayBuffers);
    }, 50);
    const t0 = Date.now();
    let sent = 0;
    let i = 0;
    while (sent < TOTAL) {
      const r = c
        .net(1)
        .send({ clusterId: 1, destination: 2, capability: 'sync-test', type: 1, payload }, 'bulk');
      const res = r instanceof Promise ? await r : r;
      if (res !== 'queued') {
        t.fail(`send ${i} ended ${res}`);
        break;
      }
      sent += CHUNK;
      i++;
    }
    await waitFor(() => received >= sent, 60_000, 'all bytes received');
    const secs = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    t.equal(received, sent);
    t.equal(frames, i);
    const worst = Math.max(...[1, 2].map((id) => c.net(id).pingStats(1)[0]!.maxRttMs ?? Infinity));
    const timeouts = [1, 2].reduce((n, id) => n + c.net(id).pingStats(1)[0]!.pingTimeouts, 0);
    t.comment(
      `500 MB in ${secs.toFixed(1)} s (${(sent / 1048576 / secs).toFixed(0)} MB/s); worst ping ${worst.toFixed(1)} ms; peak arrayBuffers ${(maxBuffers / 1048576).toFixed(0)} MB`,
    );
    t.ok(worst < 1000, `worst ping answer ${worst.toFixed(1)} ms < 1000 ms`);
    t.equal(timeouts, 0, 'no ping went unanswered');
    t.same(flips, [], 'nobody went unreachable');
    t.ok(maxBuffers < 256 * 1024 * 1024, 'memory stays bounded while streaming');
  },
);
