/** Process figures: event-loop windows and the shmem mapping onto the V8 heap. */
import t from 'tap';
import { ProcessProbe } from '../../src/mi/process.js';

t.test('event-loop figures come from complete windows once one has ended', async (t) => {
  const probe = new ProcessProbe(40);
  t.teardown(() => {
    probe.stop();
  });
  probe.start();
  probe.start();
  const early = probe.loop();
  t.ok(early.window_s < 0.04 + 0.5, 'the window in progress');
  // Keep the loop busy for a moment so the window has something to show.
  const until = Date.now() + 30;
  while (Date.now() < until) {
    // busy
  }
  await new Promise((r) => setTimeout(r, 120));
  const loop = probe.loop();
  t.ok(loop.utilization > 0 && loop.utilization <= 1, `utilization ${loop.utilization}`);
  t.ok(loop.window_s >= 0.03 && loop.window_s < 1, `window ${loop.window_s}`);
  t.ok(loop.lag_max_ms >= loop.lag_p99_ms && loop.lag_p99_ms >= 0);
  t.ok(loop.lag_mean_ms >= 0);
  probe.stop();
  probe.stop();
});

t.test('shmem figures are consistent', async (t) => {
  const probe = new ProcessProbe();
  const m = probe.shmem();
  t.ok(m.total_size > m.real_used_size && m.real_used_size >= m.used_size && m.used_size > 0);
  t.equal(m.free_size, m.total_size - m.real_used_size);
  t.ok(m.max_used_size >= m.real_used_size);
  t.equal(probe.loop().lag_p99_ms, 0, 'no samples before start');
});
