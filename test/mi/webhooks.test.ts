/**
 * Webhooks against a local HTTP server: delivery of {event, time, params}, error statuses and
 * timeouts counted without retries, a full queue drops and counts, warnings rate-limited.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { CORE_EVENTS, EventBus } from '../../src/core/events.js';
import { createLogger, silentLogger } from '../../src/core/logger.js';
import { WebhookDispatcher, type WebhookConfig } from '../../src/mi/webhooks.js';

interface Received {
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
  url: string;
}

/** An HTTP server on 127.0.0.1 that records POSTs and answers with `reply`. */
async function receiver(
  t: Test,
  reply: (res: ServerResponse, n: number) => void = (res) => res.end(),
) {
  const got: Received[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      got.push({
        body: JSON.parse(body) as Record<string, unknown>,
        headers: req.headers,
        url: req.url ?? '',
      });
      reply(res, got.length);
      waiters.splice(0).forEach((w) => {
        w();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => {
          r();
        });
      }),
  );
  const port = (server.address() as AddressInfo).port;
  const until = async (n: number) => {
    while (got.length < n) {
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { got, url: `http://127.0.0.1:${port}/hook?key=secret`, until };
}

function bus(): EventBus {
  const b = new EventBus();
  for (const [name, def] of Object.entries(CORE_EVENTS)) {
    b.declare(name, def, 'core');
  }
  b.declare('E_DEMO', { description: 'demo' }, 'demo');
  return b;
}

function hook(url: string, over: Partial<WebhookConfig> = {}): WebhookConfig {
  return { url, events: '*', timeout: 2, queue_size: 10, ...over };
}

t.test('events are POSTed as {event, time, params} with the configured headers', async (t) => {
  const r = await receiver(t);
  const b = bus();
  const d = new WebhookDispatcher(
    b,
    [hook(r.url, { events: ['E_DEMO'], headers: { authorization: 'Bearer x' } })],
    silentLogger,
  );
  d.start();
  b.raise('E_CORE_STARTED', { version: '1' });
  b.raise('E_DEMO', { n: 1 });
  b.raise('E_DEMO', { n: 2 });
  await r.until(2);
  t.match(r.got, [
    { body: { event: 'E_DEMO', params: { n: 1 } }, url: '/hook?key=secret' },
    { body: { event: 'E_DEMO', params: { n: 2 } } },
  ]);
  t.match(r.got[0]!.body['time'], /^\d{4}-\d\d-\d\dT/);
  t.equal(r.got[0]!.headers['content-type'], 'application/json');
  t.equal(r.got[0]!.headers.authorization, 'Bearer x');
  await d.stop(1000);
  t.same(d.stats, { sent: 2, failed: 0, dropped: 0 });
  b.raise('E_DEMO', { n: 3 });
  await new Promise((res) => setTimeout(res, 50));
  t.equal(r.got.length, 2, 'nothing after stop');
});

t.test(
  'error statuses and timeouts are counted, never retried; warnings rate-limited',
  async (t) => {
    const r = await receiver(t, (res, n) => {
      if (n === 1) {
        res.statusCode = 500;
        res.end('no');
      }
      // Later requests are never answered: they time out.
    });
    const lines: string[] = [];
    const logger = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk: Buffer, _e, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    const b = bus();
    const d = new WebhookDispatcher(b, [hook(r.url, { timeout: 0.2 })], logger);
    d.start();
    b.raise('E_DEMO');
    b.raise('E_DEMO');
    b.raise('E_DEMO');
    while (d.stats.failed < 3) {
      await new Promise((res) => setTimeout(res, 20));
    }
    t.equal(r.got.length, 3, 'one attempt per event');
    t.same(d.stats, { sent: 0, failed: 3, dropped: 0 });
    t.equal(lines.length, 1, 'one warning in the interval');
    const warn = JSON.parse(lines[0]!) as Record<string, unknown>;
    t.match(warn, { msg: 'webhook answered with an error', status: 500, suppressed: 0 });
    t.equal(warn['url'], r.url.replace('?key=secret', ''), 'the query is not logged');
    await d.stop();
  },
);

t.test('a full queue drops and counts; stop abandons what is left', async (t) => {
  const r = await receiver(t, () => {
    // Never answer: the first event stays in flight.
  });
  const b = bus();
  const d = new WebhookDispatcher(b, [hook(r.url, { queue_size: 2, timeout: 30 })], silentLogger);
  d.start();
  for (let i = 0; i < 5; i++) {
    b.raise('E_DEMO', { i });
  }
  await r.until(1);
  t.same(d.stats, { sent: 0, failed: 0, dropped: 2 }, 'one in flight, two queued, two dropped');
  const started = Date.now();
  await d.stop(100);
  t.ok(Date.now() - started < 2000, 'stop does not wait for the receiver');
  t.equal(d.stats.dropped, 4, 'the queued ones are dropped at stop');
  t.equal(d.stats.failed, 1, 'the one in flight is aborted');
});

t.test('an unreachable URL fails; an unknown event name is a config error', async (t) => {
  const b = bus();
  const d = new WebhookDispatcher(b, [hook('http://127.0.0.1:1/x')], silentLogger);
  d.start();
  b.raise('E_DEMO');
  while (d.stats.failed < 1) {
    await new Promise((res) => setTimeout(res, 20));
  }
  await d.stop();
  const bad = new WebhookDispatcher(
    b,
    [hook('http://127.0.0.1:1/x'), hook('http://127.0.0.1:1/y', { events: ['E_NOPE'] })],
    silentLogger,
  );
  t.throws(
    () => {
      bad.start();
    },
    { code: 'TANDEM_ERR_CONFIG', message: /events\.webhooks\[1\]\.events: unknown event E_NOPE/ },
  );
  t.notOk(b.hasSubscribers('E_DEMO'), 'a failed start leaves no subscription');
});
