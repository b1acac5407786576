/**
 * The `auth` module: digest authentication of SIP requests (RFC 3261 §22, RFC 7616, RFC 8760)
 * against a subscriber store of HA1 hashes, with stateless nonces that any node sharing the
 * secret verifies. See README.md.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { defineModule, fieldCounter, type ModuleHost } from '../../src/module/index.js';
import { Authenticator, newCounters } from './authorize.js';
import { FileSubscriberStore } from './credentials/file.js';
import { RedisSubscriberStore } from './credentials/redis.js';
import type { SubscriberStore } from './credentials/store.js';
import { miCommands } from './mi.js';
import { NcTracker, NonceService } from './nonce.js';
import { authParams, type AuthParams } from './params.js';
import { scriptFunctions } from './script.js';

export { AUTH_CODES, type AuthCode, type AuthUser } from './authorize.js';

/** Open the configured subscriber store. */
export async function openStore(p: AuthParams, dataDir: string): Promise<SubscriberStore> {
  if (p.backend === 'redis') {
    return RedisSubscriberStore.open({
      url: p.redis_url,
      prefix: p.redis_prefix,
      commandTimeoutMs: p.redis_timeout,
    });
  }
  return FileSubscriberStore.open(p.file ?? join(dataDir, 'subscribers.yaml'));
}

export default function auth() {
  const counters = newCounters();
  let store: SubscriberStore | null = null;
  let nc: NcTracker | null = null;
  let authenticator: Authenticator | null = null;

  const ready = (): Authenticator => {
    if (authenticator === null) {
      throw new Error('auth: used before init');
    }
    return authenticator;
  };
  const currentStore = (): SubscriberStore => {
    if (store === null) {
      throw new Error('auth: subscriber store not open');
    }
    return store;
  };
  // The script table is fixed at declaration; each function reaches the authenticator made in init.
  const fns = scriptFunctions(ready);
  let log: ModuleHost['logger'] | null = null;

  return defineModule({
    name: 'auth',
    description: 'digest authentication (RFC 7616 / RFC 8760): MD5 and SHA-256, stateless nonces',
    params: authParams,
    script: fns,
    mi: miCommands(currentStore, (what, user, realm) => {
      log?.info({ user, realm }, `auth: subscriber ${what}`);
    }),
    stats: {
      auth_successes: fieldCounter(counters, 'successes', 'requests authorized'),
      auth_failures: fieldCounter(
        counters,
        'failures',
        'unknown user, wrong password or foreign nonce',
      ),
      challenges: fieldCounter(counters, 'challenges', '401/407 challenges sent'),
      stale_nonces: fieldCounter(
        counters,
        'stale',
        'right password on an expired or replayed nonce (stale=true)',
      ),
      nc_replays: fieldCounter(counters, 'replays', 'nonce counts repeated or lowered (refused)'),
      bad_credentials: fieldCounter(
        counters,
        'bad_credentials',
        'malformed or unacceptable credentials',
      ),
      store_errors: fieldCounter(counters, 'errors', 'subscriber lookups that failed'),
      subscribers: {
        kind: 'gauge',
        description: 'subscribers in the store (Redis: as last counted)',
        read: () => store?.size() ?? 0,
      },
      nc_entries: {
        kind: 'gauge',
        description: 'nonces whose nc is remembered on this node',
        read: () => nc?.size ?? 0,
      },
    },
    async init(host: ModuleHost<AuthParams>) {
      const p = host.params;
      log = host.logger;
      let secret: string | Buffer;
      if (p.secret === undefined) {
        secret = randomBytes(32);
        host.logger.warn(
          'auth: no secret configured; a random one is used, so nonces from this node are not accepted by others (set modules.auth.secret the same on every node of a cluster)',
        );
      } else {
        secret = p.secret;
      }
      store = await openStore(p, host.dataDir);
      const now = (): number => host.wallTime();
      const nonces = new NonceService(secret, p.nonce_expire * 1000, now);
      nc = new NcTracker(p.nc_cache_size, now);
      const tracker = nc;
      authenticator = new Authenticator(
        {
          realm: p.realm ?? null,
          algorithms: p.algorithms,
          qop: p.qop,
          allowRfc2069: p.allow_rfc2069,
          uriCheck: p.uri_check,
        },
        store,
        nonces,
        tracker,
        counters,
        host.logger,
      );
      // Expired nonces' nc entries go even when no new nonce arrives to push them out.
      host.every('nc_prune', Math.max(1000, p.nonce_expire * 1000), () => {
        tracker.prune();
      });
      host.logger.info(
        { backend: store.backend, subscribers: store.size(), algorithms: p.algorithms },
        'auth: ready',
      );
    },
    jobs: { nc_prune: { description: 'drop nc entries of expired nonces', shtag: false } },
    async destroy() {
      nc?.clear();
      const s = store;
      store = null;
      authenticator = null;
      await s?.close();
    },
  });
}
