/** The event bus: declarations, subscriptions, failures contained and counted. */
import t from 'tap';
import { CORE_EVENTS, EventBus, type RaisedEvent } from '../../src/core/events.js';

function bus(): EventBus {
  const b = new EventBus();
  for (const [name, def] of Object.entries(CORE_EVENTS)) {
    b.declare(name, def, 'core');
  }
  return b;
}

t.test('subscribers of one event and of every event are told in order', async (t) => {
  const b = bus();
  b.declare('E_DEMO', { description: 'demo', params: ['x'] }, 'demo');
  const seen: string[] = [];
  let last: RaisedEvent | undefined;
  b.subscribe('*', (e) => {
    seen.push(`*:${e.event}`);
  });
  const off = b.subscribe('E_DEMO', (e) => {
    last = e;
    seen.push(`demo:${String(e.params['x'])}`);
  });
  t.ok(b.hasSubscribers('E_CORE_STARTED'));
  b.raise('E_DEMO', { x: 1 });
  b.raise('E_CORE_STARTED');
  off();
  off();
  b.raise('E_DEMO', { x: 2 });
  t.same(seen, ['demo:1', '*:E_DEMO', '*:E_CORE_STARTED', '*:E_DEMO']);
  t.match(last, { event: 'E_DEMO', params: { x: 1 } });
  t.match(last!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.equal(b.stats.raised, 3);
  t.same(
    b.list().map((e) => [e.name, e.owner]),
    [
      ['E_CORE_STARTED', 'core'],
      ['E_CORE_SHUTDOWN', 'core'],
      ['E_CORE_SCRIPT_RELOADED', 'core'],
      ['E_DEMO', 'demo'],
    ],
  );
});

t.test('a throwing or rejecting subscriber is counted; the others still run', async (t) => {
  const b = bus();
  t.notOk(b.hasSubscribers('E_CORE_SHUTDOWN'));
  b.raise('E_CORE_SHUTDOWN', {});
  let told = 0;
  b.subscribe('E_CORE_SHUTDOWN', () => {
    throw new Error('boom');
  });
  b.subscribe('E_CORE_SHUTDOWN', () => Promise.reject(new Error('later')));
  b.subscribe('E_CORE_SHUTDOWN', () => {
    told++;
  });
  t.doesNotThrow(() => {
    b.raise('E_CORE_SHUTDOWN', { reason: 'test' });
  });
  await new Promise((r) => setImmediate(r));
  t.equal(told, 1);
  t.equal(b.stats.subscriber_errors, 2);
});

t.test('names are checked; undeclared events cannot be raised or subscribed', async (t) => {
  const b = bus();
  t.throws(() => {
    b.declare('E_CORE_STARTED', { description: 'again' }, 'x');
  }, /already declared by core/);
  t.throws(
    () => {
      b.declare('lower', { description: 'x' }, 'x');
    },
    { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
  );
  t.throws(() => {
    b.raise('E_NOPE');
  }, /undeclared event E_NOPE/);
  t.throws(() => b.subscribe('E_NOPE', () => undefined), /unknown event E_NOPE/);
  t.notOk(b.has('E_NOPE'));
});
