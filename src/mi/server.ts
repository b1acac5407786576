/**
 * The MI's HTTP server (fastify): `POST /mi` (JSON-RPC 2.0, see jsonrpc.ts), `GET /metrics`
 * (Prometheus), `GET /health` (liveness) and `GET /ready` (readiness). When a token is
 * configured, /mi and /metrics need `Authorization: Bearer <token>`; /health and /ready stay
 * open for load balancers and keepalived, and say nothing beyond up/ready and which source is
 * not ready.
 *
 * The body of /mi is read as text whatever its Content-Type (`curl -d` sends
 * application/x-www-form-urlencoded) and parsed by the engine, so a bad body is a JSON-RPC
 * parse error rather than an HTTP one. A failing command is answered as a JSON-RPC error; a
 * failure here never reaches the SIP stack, which only shares the event loop.
 */
import type { AddressInfo } from 'node:net';
import Fastify, {
  type FastifyBaseLogger,
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from '../core/logger.js';
import type { Readiness } from '../core/readiness.js';
import { BearerAuth } from './auth.js';
import type { JsonRpcEngine } from './jsonrpc.js';
import type { Metrics } from './metrics.js';

export interface MiServerOptions {
  readonly engine: JsonRpcEngine;
  readonly metrics: Metrics;
  readonly readiness: Readiness;
  readonly logger: Logger;
  /** Bearer token protecting /mi and /metrics; null leaves them open. */
  readonly token: string | null;
  /** Largest request body in bytes (413 above). */
  readonly bodyLimit: number;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
}

export class MiServer {
  /** Requests refused for a missing or wrong token (`mi:unauthorized`). */
  readonly stats = { unauthorized: 0 };
  readonly http: FastifyInstance;
  private bound: BoundAddress | null = null;
  private readonly deferred = new WeakMap<FastifyRequest, (() => void)[]>();

  constructor(private readonly options: MiServerOptions) {
    const log = options.logger;
    const base: FastifyBaseLogger = log;
    this.http = Fastify({
      loggerInstance: base,
      // Per-request lines would be one info line per monitoring poll; see onResponse instead.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: options.bodyLimit,
      forceCloseConnections: 'idle',
    });
    const auth = options.token === null ? null : new BearerAuth(options.token);
    const guard = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
      if (auth === null || auth.check(req.headers.authorization)) {
        done();
        return;
      }
      this.stats.unauthorized++;
      // RFC 6750 §3: a request without credentials gets the challenge alone; one with a bad
      // token also gets error="invalid_token".
      const challenge =
        req.headers.authorization === undefined
          ? 'Bearer realm="tandem-mi"'
          : 'Bearer realm="tandem-mi", error="invalid_token"';
      void reply.code(401).header('www-authenticate', challenge).send({ error: 'unauthorized' });
    };
    this.http.removeAllContentTypeParsers();
    this.http.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
      done(null, body);
    });
    this.http.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      const status = err.statusCode ?? 500;
      if (status >= 500) {
        log.error({ err, url: req.url }, 'MI request failed');
      } else {
        log.debug({ err: err.message, url: req.url, status }, 'MI request refused');
      }
      void reply.code(status).send({ statusCode: status, error: err.message });
    });
    this.http.addHook('onResponse', (req, reply, done) => {
      log.debug(
        { method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime },
        'MI request',
      );
      done();
    });

    this.http.post(
      '/mi',
      {
        onRequest: guard,
        onResponse: (req, _r, done) => {
          for (const fn of this.deferred.get(req) ?? []) {
            fn();
          }
          done();
        },
      },
      async (req, reply) => {
        const deferred: (() => void)[] = [];
        this.deferred.set(req, deferred);
        const body = typeof req.body === 'string' ? req.body : '';
        const answer = await options.engine.handleText(body, deferred);
        if (answer === null) {
          // A notification (or a batch of them) has no answer: 202 Accepted, no body.
          return reply.code(202).send();
        }
        return reply.type('application/json; charset=utf-8').send(JSON.stringify(answer));
      },
    );
    this.http.get('/metrics', { onRequest: guard }, async (_req, reply) => {
      const text = await options.metrics.text();
      return reply.type(options.metrics.contentType).send(text);
    });
    this.http.get('/health', async (_req, reply) => reply.send({ status: 'ok' }));
    this.http.get('/ready', async (_req, reply) => {
      const report = options.readiness.check();
      const notReady = report.sources.filter((s) => !s.ready).map((s) => s.name);
      return reply.code(report.ready ? 200 : 503).send({
        status: report.ready ? 'ready' : 'not ready',
        not_ready: notReady,
        sources: report.sources,
      });
    });
  }

  /** Listen on `host:port` (port 0 picks a free one); resolves with the bound address. */
  async listen(host: string, port: number): Promise<BoundAddress> {
    await this.http.listen({ host, port });
    const addr = this.http.server.address() as AddressInfo;
    this.bound = { host: addr.address, port: addr.port };
    return this.bound;
  }

  /** Where the server listens, once it does. */
  get address(): BoundAddress | null {
    return this.bound;
  }

  /** The /mi URL, for logs and clients. */
  get url(): string | null {
    if (this.bound === null) {
      return null;
    }
    const host = this.bound.host.includes(':') ? `[${this.bound.host}]` : this.bound.host;
    return `http://${host}:${this.bound.port}/mi`;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
