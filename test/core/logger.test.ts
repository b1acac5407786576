import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger, silentLogger } from '../../src/core/logger.js';

function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines };
}

t.test('JSON records carry bindings and redact credentials', async (t) => {
  const { stream, lines } = sink();
  const log = createLogger({ level: 'debug', destination: stream });
  log.child({ component: 'auth' }).info({ authorization: 'Digest secret', user: 'alice' }, 'hello');
  log.debug('dbg');
  log.trace('hidden');
  await new Promise((r) => setImmediate(r));
  t.equal(lines.length, 2);
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.equal(rec['msg'], 'hello');
  t.equal(rec['component'], 'auth');
  t.equal(rec['authorization'], '[redacted]');
  t.equal(rec['user'], 'alice');
});

t.test('pretty lines are one per record with key=value fields', async (t) => {
  const { stream, lines } = sink();
  const log = createLogger({ level: 'info', pretty: true, destination: stream });
  log.info({ port: 5060, listen: 'udp' }, 'listening');
  log.warn({ nested: { a: 1 } }, 'careful');
  await new Promise((r) => setImmediate(r));
  t.match(lines[0], /INFO +listening port=5060 listen=udp$/);
  t.match(lines[1], /WARN +careful nested=\{"a":1\}$/);
});

t.test('the silent logger writes nothing and reports levels disabled', async (t) => {
  t.equal(silentLogger.isLevelEnabled('error'), false);
});
