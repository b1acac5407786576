/** Component loggers with their own levels: get, set one, set all, adopted children. */
import { Writable } from 'node:stream';
import t from 'tap';
import { isLogLevel, LogLevels } from '../../src/core/log-levels.js';
import { createLogger } from '../../src/core/logger.js';

function sink() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

t.test('each component has its own level; setAll sets them and the root', async (t) => {
  const { lines, stream } = sink();
  const levels = new LogLevels(createLogger({ level: 'info', destination: stream }));
  const tm = levels.component('tm');
  const mod = levels.component('usrloc', 'module');
  t.equal(levels.component('tm'), tm, 'one logger per component');
  levels.set('tm', 'debug');
  const perCall = tm.child({ callId: 'x' });
  perCall.debug('seen');
  mod.debug('not seen');
  t.same(levels.all(), { tm: 'debug', usrloc: 'info' });
  t.equal(levels.get(), 'info');
  levels.setAll('warn');
  tm.info('not seen either');
  mod.warn('seen too');
  t.same(levels.all(), { tm: 'warn', usrloc: 'warn' });
  t.equal(levels.get(), 'warn');
  await new Promise((r) => setImmediate(r));
  t.same(
    lines.map((l) => [l['msg'], l['component'] ?? l['module']]),
    [
      ['seen', 'tm'],
      ['seen too', 'usrloc'],
    ],
  );
  t.throws(() => {
    levels.set('nope', 'info');
  }, /no logger for component nope/);
  t.throws(() => levels.get('nope'), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
});

t.test('loggers made by code that names its own components are adopted', async (t) => {
  const levels = new LogLevels(createLogger({ level: 'info', destination: sink().stream }));
  const parent = levels.adopting();
  const resolver = parent.child({ component: 'resolver' });
  parent.child({ other: 1 });
  resolver.child({ component: 'inner' });
  t.same(levels.names(), ['resolver']);
  t.ok(levels.has('resolver'));
  levels.set('resolver', 'error');
  t.equal(resolver.level, 'error');
  t.ok(isLogLevel('trace'));
  t.notOk(isLogLevel('loud'));
});
