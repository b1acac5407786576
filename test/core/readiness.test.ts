/** Readiness sources: all must be ready; a throwing source is not ready. */
import t from 'tap';
import { Readiness } from '../../src/core/readiness.js';

t.test('ready only when every source is; details and failures are reported', async (t) => {
  const r = new Readiness();
  t.same(r.check(), { ready: false, sources: [] }, 'nothing registered is not ready');
  let synced = false;
  r.register('listeners', () => true);
  const off = r.register('usrloc:sync', () =>
    synced ? { ready: true } : { ready: false, detail: 'sync in progress' },
  );
  t.same(r.check(), {
    ready: false,
    sources: [
      { name: 'listeners', ready: true },
      { name: 'usrloc:sync', ready: false, detail: 'sync in progress' },
    ],
  });
  synced = true;
  t.equal(r.check().ready, true);
  r.register('broken', () => {
    throw new Error('db down');
  });
  t.same(r.check().sources[2], { name: 'broken', ready: false, detail: 'check failed: db down' });
  t.throws(() => r.register('listeners', () => true), /already exists/);
  off();
  off();
  t.same(
    r.check().sources.map((s) => s.name),
    ['listeners', 'broken'],
  );
});
