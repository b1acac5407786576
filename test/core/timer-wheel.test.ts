import t from 'tap';
import { Writable } from 'node:stream';
import { TimerWheel } from '../../src/core/timer-wheel.js';
import { CoreError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A wheel on a fake clock, and a log of (label, fake time) for every firing. */
function setup(opts: { tickMs?: number; slots?: number } = {}) {
  const clock = new FakeClock(1000);
  const wheel = new TimerWheel({ base: clock, ...opts });
  const fired: [string, number][] = [];
  const arm = (label: string, delay: number) =>
    wheel.setTimer(delay, () => {
      fired.push([label, clock.now()]);
    });
  return { clock, wheel, fired, arm };
}

t.test('timers fire in due order, never before their delay, rounded up to the tick', async (t) => {
  const { clock, wheel, fired, arm } = setup({ tickMs: 10, slots: 8 });
  arm('c', 35);
  arm('a', 5);
  arm('b', 20);
  arm('b2', 20);
  arm('z', 0);
  t.equal(wheel.pending(), 5);
  clock.advance(100);
  // 'a' (5 ms) and 'z' (0 ms) share the first tick: within a tick, arming order.
  t.same(
    fired.map(([l]) => l),
    ['a', 'z', 'b', 'b2', 'c'],
  );
  // Rounded up to the tick: 0 -> 10, 5 -> 10, 20 -> 20, 35 -> 40 ms after arming.
  t.same(
    fired.map(([, at]) => at - 1000),
    [10, 10, 20, 20, 40],
  );
  t.equal(wheel.pending(), 0);
});

t.test('a delay that is not a multiple of the tick never fires early', async (t) => {
  const { clock, fired, arm } = setup({ tickMs: 10, slots: 16 });
  clock.advance(3); // arming off a tick boundary
  arm('x', 10);
  clock.advance(9);
  t.same(fired, []);
  clock.advance(8);
  t.equal(fired.length, 1);
  t.ok(fired[0]![1] - 1003 >= 10, 'fired at least 10 ms after arming');
  t.ok(fired[0]![1] - 1003 < 20, 'and within a tick of it');
});

t.test('long timers survive several rotations and fire on time', async (t) => {
  const { clock, wheel, fired, arm } = setup({ tickMs: 10, slots: 8 }); // 80 ms per rotation
  arm('long', 555);
  arm('short', 30);
  arm('mid', 95);
  clock.advance(549);
  t.same(
    fired.map(([l]) => l),
    ['short', 'mid'],
  );
  t.equal(wheel.pending(), 1);
  clock.advance(20);
  t.same(fired[2], ['long', 1560]);
  t.equal(clock.pending(), 0, 'no base timer once empty');
});

t.test('with only a long timer the base clock wakes at most once per rotation', async (t) => {
  const clock = new FakeClock(0);
  let wakeups = 0;
  const counting = {
    now: () => clock.now(),
    setTimer: (ms: number, fn: () => void) =>
      clock.setTimer(ms, () => {
        wakeups++;
        fn();
      }),
  };
  const wheel = new TimerWheel({ base: counting, tickMs: 10, slots: 64 }); // 640 ms rotation
  let fired = false;
  wheel.setTimer(180_000, () => {
    fired = true;
  });
  clock.advance(180_000);
  t.ok(fired);
  t.ok(wakeups <= Math.ceil(180_000 / 640) + 1, `woke ${wakeups} times for one 3-min timer`);
});

t.test('cancel is O(1), idempotent, and safe after firing', async (t) => {
  const { clock, wheel, fired, arm } = setup({ tickMs: 10, slots: 8 });
  const a = arm('a', 10);
  const b = arm('b', 10);
  const c = arm('c', 10);
  b.cancel();
  b.cancel();
  t.equal(wheel.pending(), 2);
  clock.advance(10);
  t.same(
    fired.map(([l]) => l),
    ['a', 'c'],
  );
  a.cancel(); // after firing: no effect
  c.cancel();
  t.equal(wheel.pending(), 0);
  const d = arm('d', 10);
  t.equal(wheel.pending(), 1);
  d.cancel();
  clock.advance(50);
  t.equal(fired.length, 2);
});

t.test('an idle wheel holds no underlying timer', async (t) => {
  const { clock, wheel, arm } = setup();
  t.equal(clock.pending(), 0, 'nothing armed at start');
  t.notOk(wheel.isArmed());
  const h1 = arm('x', 5000);
  const h2 = arm('y', 100);
  t.equal(clock.pending(), 1, 'one base timer for any number of wheel timers');
  t.ok(wheel.isArmed());
  h1.cancel();
  t.equal(clock.pending(), 1);
  h2.cancel();
  t.equal(clock.pending(), 0, 'disarmed when the last timer is cancelled');
  t.notOk(wheel.isArmed());
  arm('z', 20);
  clock.advance(30);
  t.equal(clock.pending(), 0, 'disarmed after the last timer fired');
  t.equal(wheel.pending(), 0);
});

t.test('a shorter timer re-arms the base timer earlier', async (t) => {
  const { clock, fired, arm } = setup({ tickMs: 10, slots: 1024 });
  arm('late', 5000);
  t.equal(clock.nextDue(), 1000 + 5000);
  arm('early', 50);
  t.equal(clock.nextDue(), 1000 + 50);
  clock.advance(60);
  t.same(fired, [['early', 1050]]);
});

t.test(
  'callbacks may arm and cancel timers; armed ones fire in the same pass if due',
  async (t) => {
    const { clock, wheel, fired, arm } = setup({ tickMs: 10, slots: 8 });
    let victim = arm('victim', 20); // same slot tick as the canceller below
    wheel.setTimer(20, () => {
      fired.push(['canceller', clock.now()]);
      victim.cancel();
      arm('child', 0);
      arm('later', 200);
    });
    // Re-arm the victim after the canceller, same tick: the canceller runs first.
    victim.cancel();
    victim = arm('victim', 20);
    clock.advance(30);
    t.same(
      fired.map(([l]) => l),
      ['canceller', 'child'],
    );
    t.equal(fired[1]![1], 1030, 'child fired on the next tick, not the one being processed');
    t.equal(wheel.pending(), 1);
    t.equal(clock.pending(), 1, 'base re-armed for the later child');
    t.ok(clock.nextDue()! <= 1220, 'no later than its due time');
    clock.advance(200);
    t.same(fired[2], ['later', 1220]);
  },
);

t.test('a throwing callback is logged and does not break the wheel', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const clock = new FakeClock(0);
  const wheel = new TimerWheel({ base: clock, logger: createLogger({ destination: sink }) });
  const order: string[] = [];
  wheel.setTimer(10, () => {
    order.push('boom');
    throw new Error('kaboom');
  });
  wheel.setTimer(10, () => order.push('after'));
  wheel.setTimer(50, () => order.push('later'));
  clock.advance(100);
  t.same(order, ['boom', 'after', 'later']);
  t.equal(wheel.pending(), 0);
  await new Promise((r) => setImmediate(r));
  t.ok(
    lines.some((l) => l.includes('timer callback threw') && l.includes('kaboom')),
    'logged',
  );
  // Without a logger, the error is swallowed.
  const quiet = new TimerWheel({ base: clock });
  let ran = false;
  quiet.setTimer(0, () => {
    throw new Error('x');
  });
  quiet.setTimer(0, () => {
    ran = true;
  });
  clock.advance(20);
  t.ok(ran);
});

t.test('a stall longer than a rotation fires everything due, in order', async (t) => {
  const clock = new FakeClock(0);
  const wheel = new TimerWheel({ base: clock, tickMs: 10, slots: 4 }); // 40 ms rotation
  const order: number[] = [];
  for (const d of [300, 15, 95, 40, 41, 1000]) {
    wheel.setTimer(d, () => order.push(d));
  }
  // Simulate a blocked loop: the base timer fires only at t = 500.
  const stalled = new FakeClock(0);
  const w2 = new TimerWheel({
    base: {
      now: () => stalled.now(),
      setTimer: (_ms, fn) => stalled.setTimer(500, fn),
    },
    tickMs: 10,
    slots: 4,
  });
  const order2: number[] = [];
  for (const d of [300, 15, 95, 40, 41, 1000]) {
    w2.setTimer(d, () => order2.push(d));
  }
  stalled.advance(500);
  t.same(order2, [15, 40, 41, 95, 300], 'swept in due order');
  t.equal(w2.pending(), 1);
  stalled.advance(1000);
  t.same(order2, [15, 40, 41, 95, 300, 1000]);
  clock.advance(2000);
  t.same(order, [15, 40, 41, 95, 300, 1000]);
  t.equal(wheel.pending(), 0);
});

t.test('a base timer that fires early re-arms for the rest', async (t) => {
  const clock = new FakeClock(0);
  const wheel = new TimerWheel({
    base: {
      now: () => clock.now(),
      // Fires 3 ms early when it can, as a coarse system timer may.
      setTimer: (ms, fn) => clock.setTimer(ms > 3 ? ms - 3 : ms, fn),
    },
    tickMs: 10,
  });
  let at = -1;
  wheel.setTimer(20, () => {
    at = clock.now();
  });
  clock.advance(18);
  t.equal(at, -1, 'not before its delay');
  clock.advance(10);
  t.ok(at >= 20, `fired at ${at}`);
});

t.test('after being idle, new timers count from now', async (t) => {
  const { clock, fired, arm } = setup({ tickMs: 10, slots: 8 });
  clock.advance(10_000);
  arm('x', 30);
  clock.advance(29);
  t.same(fired, []);
  clock.advance(1);
  t.same(fired, [['x', 11_030]]);
});

t.test('bad options and delays are coded errors', async (t) => {
  const clock = new FakeClock();
  t.throws(() => new TimerWheel({ base: clock, tickMs: 0 }), CoreError);
  t.throws(() => new TimerWheel({ base: clock, slots: 100 }), {
    code: 'TANDEM_ERR_INVALID_ARGUMENT',
  });
  t.throws(() => new TimerWheel({ base: clock, slots: 1 }), CoreError);
  const wheel = new TimerWheel({ base: clock });
  t.throws(() => wheel.setTimer(-1, () => undefined), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  t.throws(() => wheel.setTimer(Number.NaN, () => undefined), CoreError);
  t.throws(() => wheel.setTimer(Infinity, () => undefined), CoreError);
  t.equal(wheel.tickMs, 10);
  t.equal(wheel.slotCount, 512);
  t.equal(wheel.now(), clock.now());
});

t.test('on the system clock: fires for real and leaves no handle behind', async (t) => {
  const wheel = new TimerWheel({ tickMs: 5 });
  const start = performance.now();
  // The wheel's base timer is unref'd (it never keeps a stopping process alive): hold the
  // event loop open while waiting for it.
  const keepAlive = setTimeout(() => undefined, 10_000);
  const elapsed = await new Promise<number>((resolve) => {
    wheel.setTimer(20, () => {
      resolve(performance.now() - start);
    });
  });
  clearTimeout(keepAlive);
  t.ok(elapsed >= 19, `fired after ${elapsed.toFixed(1)} ms`);
  t.ok(elapsed < 2000, 'within a generous bound');
  t.notOk(wheel.isArmed());
  const h = wheel.setTimer(60_000, () => undefined);
  t.ok(wheel.isArmed());
  h.cancel();
  t.notOk(wheel.isArmed());
});

t.test(
  'many random timers: each fires once, in due order, no earlier than its delay',
  async (t) => {
    const clock = new FakeClock(0);
    const wheel = new TimerWheel({ base: clock, tickMs: 10, slots: 32 });
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const fired: { id: number; due: number; at: number }[] = [];
    const handles = [];
    for (let id = 0; id < 2000; id++) {
      const d = rand() % 5000;
      const start = clock.now();
      handles.push(wheel.setTimer(d, () => fired.push({ id, due: start + d, at: clock.now() })));
      if (id % 10 === 0) {
        clock.advance(rand() % 50);
      }
    }
    const cancelledEarly = new Set<number>();
    for (let id = 0; id < handles.length; id += 3) {
      if (!fired.some((f) => f.id === id)) {
        cancelledEarly.add(id);
      }
      handles[id]!.cancel();
    }
    clock.advance(10_000);
    const ids = new Set(fired.map((f) => f.id));
    t.equal(ids.size, fired.length, 'no timer fired twice');
    t.equal(fired.length + cancelledEarly.size, 2000, 'every timer fired or was cancelled first');
    t.ok(
      [...cancelledEarly].every((id) => !ids.has(id)),
      'cancelled timers never fire',
    );
    t.equal(wheel.pending(), 0);
    t.ok(
      fired.every((f) => f.at >= f.due && f.at <= f.due + 10),
      'each fired no earlier than due, within one tick',
    );
    t.ok(
      fired.every((f, i) => i === 0 || f.at >= fired[i - 1]!.at),
      'fired in time order',
    );
  },
);

t.test('stop() cancels every pending timer and disarms; the wheel stays usable', async (t) => {
  const { clock, wheel, fired, arm } = setup({ tickMs: 10, slots: 8 });
  const a = arm('a', 10);
  arm('b', 500);
  arm('c', 90);
  wheel.stop();
  t.equal(wheel.pending(), 0);
  t.equal(clock.pending(), 0, 'base timer cancelled');
  t.notOk(wheel.isArmed());
  a.cancel(); // a stopped timer's handle is inert
  t.equal(wheel.pending(), 0);
  clock.advance(1000);
  t.same(fired, []);
  arm('d', 20);
  clock.advance(20);
  t.same(fired, [['d', 2020]]);
  wheel.stop(); // idle: nothing to do
  t.equal(wheel.pending(), 0);
});

t.test('stop() from a callback stops the rest of the pass too', async (t) => {
  const { clock, wheel, fired, arm } = setup({ tickMs: 10, slots: 8 });
  arm('first', 10);
  wheel.setTimer(10, () => {
    fired.push(['stopper', clock.now()]);
    wheel.stop();
    arm('after-stop', 10);
  });
  arm('same-tick', 10);
  arm('later', 30);
  clock.advance(100);
  t.same(
    fired.map(([l]) => l),
    ['first', 'stopper', 'after-stop'],
  );
  t.equal(wheel.pending(), 0);
  t.equal(clock.pending(), 0);
});

t.test('FakeClock (the base these tests and other layers use) keeps its contract', async (t) => {
  const clock = new FakeClock(100);
  const log: string[] = [];
  const at = (label: string) => () => {
    log.push(`${label}@${clock.now()}`);
  };
  clock.setTimer(30, at('c'));
  clock.setTimer(10, at('a'));
  clock.setTimer(10, at('a2')); // same due time: arming order
  const gone = clock.setTimer(20, at('gone'));
  clock.setTimer(5, () => {
    log.push(`parent@${clock.now()}`);
    clock.setTimer(10, at('child')); // due at 115, inside the advance: fires
    clock.setTimer(500, at('late'));
  });
  gone.cancel();
  gone.cancel();
  t.equal(clock.pending(), 4);
  t.equal(clock.nextDue(), 105);
  clock.advance(30);
  t.same(log, ['parent@105', 'a@110', 'a2@110', 'child@115', 'c@130']);
  t.equal(clock.now(), 130);
  t.equal(clock.pending(), 1);
  t.equal(clock.runAll(), 475, 'runAll advanced to the last timer');
  t.same(log.at(-1), 'late@605');
  t.equal(clock.nextDue(), null);
  t.equal(clock.runAll(), 0);
  // runAll stops at its limit with timers still pending.
  clock.setTimer(10_000, at('far'));
  t.equal(clock.runAll(1000), 1000);
  t.equal(clock.pending(), 1);
  t.throws(() => clock.setTimer(-1, at('x')), RangeError);
  t.throws(() => {
    clock.advance(Number.NaN);
  }, RangeError);
  // A throwing callback propagates out of advance, with the timer already gone.
  const c2 = new FakeClock();
  c2.setTimer(1, () => {
    throw new Error('bug');
  });
  t.throws(() => {
    c2.advance(5);
  }, /bug/);
  t.equal(c2.now(), 1);
  t.equal(c2.pending(), 0);
});
