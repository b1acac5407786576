/** Layer construction, timer configuration, and the layer on the real timer wheel. */
import t from 'tap';
import { TimerWheel } from '../../src/core/timer-wheel.js';
import { resolveTimers, TransactionLayer } from '../../src/transaction/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import {
  FakeTransport,
  RecordingClientUser,
  RecordingTU,
  outgoing,
  response,
  rxInfo,
  target,
} from './helpers.js';

t.test('timer defaults and overrides', async (t) => {
  t.same(resolveTimers(), {
    t1: 500,
    t2: 4000,
    t4: 5000,
    timerB: 32_000,
    timerF: 32_000,
    timerD: 32_000,
    t1x64: 32_000,
  });
  t.same(resolveTimers({ t1: 100, t2: 400, t4: 1000 }), {
    t1: 100,
    t2: 400,
    t4: 1000,
    timerB: 6400,
    timerF: 6400,
    timerD: 32_000,
    t1x64: 6400,
  });
  t.equal(resolveTimers({ timerB: 10_000, timerF: 20_000 }).timerB, 10_000);
  t.equal(resolveTimers({ timerB: 10_000, timerF: 20_000 }).timerF, 20_000);
  for (const bad of [
    { t1: 0 },
    { t2: -1 },
    { t4: Number.NaN },
    { timerB: Infinity },
    { timerF: 0 },
  ]) {
    t.throws(
      () => resolveTimers(bad),
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
      JSON.stringify(bad),
    );
  }
  t.throws(() => resolveTimers({ t1: 5000, t2: 4000 }), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  const clock = new FakeClock();
  t.throws(
    () =>
      new TransactionLayer({
        transport: new FakeTransport(clock),
        user: new RecordingTU(),
        clock,
        timers: { t1: -5 },
      }),
    { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
  );
});

t.test('on the real timer wheel: retransmissions in real time, clean stop', async (t) => {
  const wheel = new TimerWheel({ tickMs: 5 });
  const transport = new FakeTransport(new FakeClock());
  const layer = new TransactionLayer({
    transport,
    user: new RecordingTU(),
    clock: wheel,
    timers: { t1: 20, t2: 40 },
  });
  const user = new RecordingClientUser(new FakeClock());
  // The wheel's base timer is unref'd: hold the loop open while waiting.
  const keepAlive = setTimeout(() => undefined, 10_000);
  const start = performance.now();
  const tx = layer.createClientTransaction(outgoing({ method: 'OPTIONS' }), target(), user);
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (transport.sent.length >= 3) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  const elapsed = performance.now() - start;
  // E at 20, then 40 (min(2*20, 40)): the third send no earlier than 60 ms.
  t.ok(elapsed >= 55, `three sends after ${elapsed.toFixed(0)} ms`);
  layer.onResponse(response({ status: 200, method: 'OPTIONS' }), rxInfo());
  t.equal(tx.state, 'completed');
  t.ok(wheel.pending() > 0, 'Timer K pending');
  layer.stop();
  t.equal(wheel.pending(), 0, 'stop() cancelled every timer');
  t.notOk(wheel.isArmed());
  clearTimeout(keepAlive);
});

t.test('without a clock the layer runs its own wheel on the system clock', async (t) => {
  const layer = new TransactionLayer({
    transport: new FakeTransport(new FakeClock()),
    user: new RecordingTU(),
  });
  const tx = layer.createClientTransaction(outgoing(), target('tcp'), {
    onResponse: () => undefined,
    onTimeout: () => undefined,
    onTransportError: () => undefined,
  });
  t.equal(tx.state, 'calling');
  t.equal(layer.timers.t1, 500);
  layer.stop();
  t.equal(tx.state, 'terminated');
});

t.test(
  'the observer hears how long each transaction lived, with its side and method',
  async (t) => {
    const clock = new FakeClock(1000);
    const transport = new FakeTransport(clock);
    const ended: [string, string, number][] = [];
    const layer = new TransactionLayer({
      transport,
      user: new RecordingTU(),
      clock,
      observer: {
        transactionEnded: (side, method, ms) => {
          ended.push([side, method, ms]);
        },
      },
    });
    const user = new RecordingClientUser(clock);
    layer.createClientTransaction(outgoing({ method: 'OPTIONS' }), target(), user);
    clock.advance(40);
    layer.onResponse(response({ status: 200, method: 'OPTIONS' }), rxInfo());
    t.same(ended, [], 'still in the table during Timer K');
    clock.runAll(60_000);
    // Timer K is T4 (5 s) over UDP: 40 ms to the answer, then 5000 ms.
    t.same(ended, [['client', 'OPTIONS', 5040]]);
    layer.stop();
  },
);
