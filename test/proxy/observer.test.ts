import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { ScriptRunner } from '../../src/script/runner.js';
import { defineRoutes } from '../../src/script/routes.js';
import { ProxyCore } from '../../src/proxy/proxy-core.js';
import { harness, request, RX, settle } from '../helpers/proxy-fakes.js';

t.test(
  'the observer hears each request the route finished, with its processing time',
  async (t) => {
    const h = harness();
    const seen: [string, number][] = [];
    const core = new ProxyCore(
      {
        transport: h.transport,
        transactions: h.tx,
        resolver: h.resolver,
        clock: h.clock,
        logger: silentLogger,
        observer: {
          requestProcessed: (method, ms) => {
            seen.push([method, ms]);
          },
        },
      },
      h.self,
    );
    const runner = new ScriptRunner(core, h.self, silentLogger);
    runner.install(
      defineRoutes({
        async request(ctx) {
          if (ctx.is_method('MESSAGE')) {
            throw new Error('script bug');
          }
          // The script takes 25 ms of the core's clock (a database lookup, say).
          await new Promise<void>((resolve) => {
            h.clock.setTimer(25, resolve);
          });
          ctx.reply(404, 'Not Here');
        },
      }),
    );
    h.clock.advance(100);
    core.onRequest(request('OPTIONS', 'sip:bob@example.com'), { ...RX, receivedAt: 90 }, null);
    core.onRequest(request('MESSAGE', 'sip:bob@example.com'), { ...RX, receivedAt: 100 }, null);
    await settle();
    h.clock.advance(25);
    await settle();
    t.same(seen, [
      ['MESSAGE', 0],
      ['OPTIONS', 35],
    ]);
    t.same(h.transport.statuses(), [500, 404], 'the script error still answered 500');
  },
);
