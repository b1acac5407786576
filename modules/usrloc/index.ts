/**
 * The `usrloc` module: the location service (AoR -> bindings) that the registrar saves into and
 * looks up, with expiry, E_UL_* events, statistics, MI commands with OpenSIPS's names, and a
 * persistent store (an embedded append-only file by default, or Redis), and in
 * `full-sharing-cluster` mode the cluster capability `usrloc-contact-repl`. Its init returns the
 * {@link UsrlocApi} other modules bind with `host.api<UsrlocApi>('usrloc')`.
 */
import {
  defineModule,
  fieldCounter,
  type ModuleFactory,
  type ModuleManifest,
} from '../../src/module/index.js';
import type { UsrlocApi } from './api.js';
import { USRLOC_EVENTS } from './events.js';
import { usrlocCommands } from './mi.js';
import { usrlocParams, type UsrlocParams } from './params.js';
import { UsrlocService } from './usrloc.js';

const factory: ModuleFactory = () => {
  let service: UsrlocService | null = null;
  const live = (): UsrlocService => {
    if (service === null) {
      throw new Error('usrloc is not initialised');
    }
    return service;
  };
  const repl = () => service?.replication?.stats ?? null;
  const manifest: ModuleManifest<UsrlocParams> = defineModule<
    UsrlocParams,
    ModuleManifest<UsrlocParams>
  >({
    name: 'usrloc',
    description: 'location service: registered bindings by AoR, expiry, persistence',
    params: usrlocParams,
    mi: usrlocCommands({
      lookup: (aor) => live().lookup(aor),
      held: (aor) => live().store.held(aor),
      aors: () => live().store.aors(),
      save: (input) => live().save(input),
      remove: (aor, key) => live().remove(aor, key, 'mi'),
      removeAor: (aor) => live().removeAor(aor, 'mi'),
      flush: () => live().flush(),
      wallTime: () => live().now(),
      clusterSync: () => live().clusterSync(),
    }),
    stats: {
      registered_users: {
        kind: 'gauge',
        description: 'AoRs with at least one binding',
        read: () => service?.counts().aors ?? 0,
      },
      contacts: {
        kind: 'gauge',
        description: 'bindings held',
        read: () => service?.counts().contacts ?? 0,
      },
      expires: { kind: 'counter', description: 'bindings removed by the expiry job' },
      purged: fieldCounter(
        () => service,
        'purged',
        'expired bindings a backup removed because no reachable node held their tag',
      ),
      repl_sent: fieldCounter(repl, 'repl_sent', 'local writes replicated to the cluster'),
      repl_applied: fieldCounter(repl, 'repl_applied', 'replicated writes applied (newer)'),
      repl_stale: fieldCounter(repl, 'repl_stale', 'replicated writes ignored (not newer)'),
      repl_bad: fieldCounter(repl, 'repl_bad', 'replicated data that could not be decoded'),
      sync_tombstones: fieldCounter(
        repl,
        'sync_tombstones',
        'tombstones from a sync newer than what was held (deletions missed while away)',
      ),
      db_written: {
        kind: 'counter',
        description: 'writes done by the persistent store',
        read: () => service?.persistence?.stats.written ?? 0,
      },
      db_errors: {
        kind: 'counter',
        description: 'failed flushes of the persistent store (retried)',
        read: () => service?.persistence?.stats.errors ?? 0,
      },
      db_dropped: {
        kind: 'counter',
        description: 'writes dropped because the write queue was full',
        read: () => service?.persistence?.stats.dropped ?? 0,
      },
      db_queued: {
        kind: 'gauge',
        description: 'writes waiting for the next flush',
        read: () => service?.persistence?.stats.queued ?? 0,
      },
      load_skipped: {
        kind: 'gauge',
        description: 'unreadable entries skipped by the last load (a torn tail after a crash)',
        read: () => service?.loaded.skipped ?? 0,
      },
    },
    events: USRLOC_EVENTS,
    jobs: {
      // Gated per binding: only its owner tag's active node expires it (and replicates that).
      expire: {
        description: 'removes expired bindings whose owner tag is active here',
        shtag: true,
      },
      // Not gated: it acts exactly where no node holds the tag (cluster mode only).
      purge: {
        description: `removes expired bindings whose owner tag no reachable node has held active for purge_grace`,
        shtag: false,
      },
      flush: { description: 'writes queued changes to the persistent store', shtag: false },
      compact: { description: 'rewrites the append-only file without dead lines', shtag: false },
    },
    async init(host): Promise<UsrlocApi> {
      const s = new UsrlocService(host);
      service = s;
      await s.start();
      return s;
    },
    async destroy() {
      await service?.stop();
      service = null;
    },
  });
  return manifest;
};

export default factory;
