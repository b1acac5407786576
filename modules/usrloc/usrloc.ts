/**
 * The location service: the store, its events and statistics, and the persistent store chosen
 * by `db_mode`, put together behind {@link UsrlocApi}. The store tells this class of every
 * change; it raises the E_UL_* events and queues the write, except while loading (what is read
 * from the store is already there, and a restart is not a registration).
 */
import { configError, type ModuleHost } from '../../src/module/index.js';
import {
  contactKey,
  type ContactInput,
  type ContactRecord,
  type RemoveReason,
  type UsrlocApi,
} from './api.js';
import { contactParams } from './events.js';
import { expireContacts, purgeUnowned, type UnheldSince } from './expiry.js';
import type { UsrlocParams } from './params.js';
import { AofPersistence } from './persistence/aof.js';
import { RedisPersistence } from './persistence/redis.js';
import type { LoadReport, Persistence } from './persistence/types.js';
import { UsrlocReplication } from './replication.js';
import { UsrlocStore, type StoreListener } from './store.js';

/** FNV-1a (32 bits) of a string: the AoR hash that splits pinging in `cooperation` mode. */
export function aorHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

export class UsrlocService implements UsrlocApi {
  readonly store: UsrlocStore;
  readonly persistence: Persistence | null;
  /** Expired bindings removed by the job (the `expires` statistic). */
  expired = 0;
  /** What the last load found, and the expired bindings it dropped. */
  loaded: LoadReport & { expired: number; ms: number } = {
    records: 0,
    deletes: 0,
    skipped: 0,
    expired: 0,
    ms: 0,
  };
  /** Expired bindings a backup removed because nobody held their tag (the `purged` statistic). */
  purged = 0;
  /** The cluster capability in `full-sharing-cluster` mode, else null. */
  readonly replication: UsrlocReplication | null;
  private loading = false;
  private readonly unheld: UnheldSince = new Map();

  constructor(private readonly host: ModuleHost<UsrlocParams>) {
    const p = host.params;
    const clustered = p.working_mode_preset === 'full-sharing-cluster';
    if (clustered && host.cluster === null) {
      throw configError(
        'modules.usrloc.working_mode_preset',
        'full-sharing-cluster needs a clusterer section',
      );
    }
    if (clustered && !host.cluster!.clusterIds().includes(p.location_cluster)) {
      throw configError(
        'modules.usrloc.location_cluster',
        `this node is not in cluster ${String(p.location_cluster)}`,
      );
    }
    this.store = new UsrlocStore({
      wallTime: () => host.wallTime(),
      tombstoneTtlMs: p.tombstone_ttl * 1000,
      listener: this.listener(),
      // design.md "untagged data": in a cluster every replicated binding has an owner.
      defaultOwner: p.sharing_tag ?? (clustered ? `service/${String(p.location_cluster)}` : null),
    });
    this.replication = clustered
      ? new UsrlocReplication(this.store, host.cluster!, p.location_cluster, host.logger)
      : null;
    switch (p.db_mode) {
      case 'file':
        this.persistence = new AofPersistence({
          dir: host.dataDir,
          fsync: p.fsync,
          queueLimit: p.max_queue,
          logger: host.logger,
        });
        break;
      case 'redis':
        this.persistence = new RedisPersistence({
          url: p.redis_url,
          prefix: p.redis_prefix,
          batch: p.redis_batch,
          queueLimit: p.max_queue,
          logger: host.logger,
          now: () => host.wallTime(),
        });
        break;
      case 'none':
        this.persistence = null;
        break;
    }
  }

  /** Load the persistent store and start the jobs. */
  async start(): Promise<void> {
    const p = this.host.params;
    const store = this.persistence;
    if (store !== null) {
      await this.load(store);
      this.host.every('flush', p.flush_interval, () =>
        store instanceof RedisPersistence ? store.tick() : store.flush().catch(() => undefined),
      );
      if (store instanceof AofPersistence) {
        this.host.every('compact', p.compact_interval * 1000, () =>
          store.compact({
            records: () => this.store.all(),
            tombstones: () => this.store.tombstones(),
          }),
        );
      }
    }
    this.host.every('expire', p.timer_interval * 1000, ({ now }) => {
      const n = expireContacts(this.store, this.host.sharingTags, now);
      this.expired += n;
      this.host.stat('expires').value += n;
    });
    const repl = this.replication;
    if (repl !== null) {
      // Each backup purges on its own (they all see the same tag state): not replicated.
      this.host.every('purge', p.timer_interval * 1000, ({ now }) => {
        this.purged += repl.local(() =>
          purgeUnowned(this.store, this.host.sharingTags, now, p.purge_grace * 1000, this.unheld),
        );
      });
    }
  }

  /** `ul_cluster_sync`: null when not clustered, else whether a transfer was asked for. */
  clusterSync(): boolean | null {
    return this.replication?.cap.requestSync() ?? null;
  }

  pingSelector(): (c: ContactRecord) => boolean {
    const tags = this.host.sharingTags;
    const repl = this.replication;
    if (repl === null || this.host.params.pinging_mode === 'ownership') {
      return (c) => tags.isActive(c.owner);
    }
    // OpenSIPS cooperation: every synced node pings the AoRs whose hash selects it.
    const nodes = repl.cap.syncedNodes().sort((a, b) => a - b);
    const me = nodes.indexOf(this.host.cluster!.myNodeId);
    if (me < 0) {
      return () => false;
    }
    return (c) => aorHash(c.aor) % nodes.length === me;
  }

  /** Write everything queued and release the persistent store (clean stop loses nothing). */
  async stop(): Promise<void> {
    await this.persistence?.close();
  }

  /** Wall-clock ms (the host's clock, a fake one in tests). */
  now(): number {
    return this.host.wallTime();
  }

  lookup(aor: string): readonly ContactRecord[] {
    return this.store.lookup(aor);
  }

  getContact(aor: string, key: string): ContactRecord | null {
    return this.store.getContact(aor, key);
  }

  findByContact(uri: string): readonly ContactRecord[] {
    return this.store.findByContact(uri);
  }

  save(input: ContactInput): ContactRecord {
    return this.store.save(input);
  }

  remove(aor: string, key: string, reason: RemoveReason): boolean {
    return this.store.remove(aor, key, reason);
  }

  removeAor(aor: string, reason: RemoveReason): number {
    return this.store.removeAor(aor, reason);
  }

  setFlags(aor: string, key: string, flags: number): ContactRecord | null {
    return this.store.setFlags(aor, key, flags);
  }

  all(): IterableIterator<ContactRecord> {
    return this.store.all();
  }

  counts(): { aors: number; contacts: number } {
    return this.store.counts();
  }

  async flush(): Promise<void> {
    await this.persistence?.flush();
  }

  private async load(persistence: Persistence): Promise<void> {
    const started = Date.now();
    this.loading = true;
    let expired = 0;
    let report: LoadReport;
    try {
      report = await persistence.load({
        record: (rec) => this.store.applyRecord(rec),
        delete: (aor, key, rev) => this.store.applyDelete(aor, key, rev),
      });
      // Expired ones go after the whole load, not as they are read: skipping an expired line
      // would let an older, still live line of the same binding win.
      const now = this.host.wallTime();
      const due = [...this.store.records()].filter((c) => c.expires <= now);
      for (const c of due) {
        this.store.remove(c.aor, contactKey(c), 'expired');
        expired++;
      }
      if (persistence instanceof RedisPersistence) {
        for (const c of due) {
          persistence.write({ op: 'del', aor: c.aor, key: contactKey(c), rev: c.rev });
          if (!this.store.hasAor(c.aor)) {
            persistence.write({ op: 'aor-del', aor: c.aor });
          }
        }
      }
    } finally {
      this.loading = false;
    }
    this.loaded = { ...report, expired, ms: Date.now() - started };
    const counts = this.store.counts();
    this.host.logger.info(
      { ...this.loaded, aors: counts.aors, contacts: counts.contacts },
      'usrloc: bindings loaded',
    );
  }

  private listener(): StoreListener {
    const events = this.host.events;
    // Contact events carry fifteen parameters; most deployments subscribe to none of them, so
    // the parameters are built only when someone listens (the raise is still counted).
    const raiseAor = (event: string, aor: string): void => {
      this.host.raise(event, events.hasSubscribers(event) ? { aor } : undefined);
    };
    const raiseContact = (event: string, rec: ContactRecord, reason?: RemoveReason): void => {
      this.host.raise(event, events.hasSubscribers(event) ? contactParams(rec, reason) : undefined);
    };
    const write: Persistence['write'] = (op) => {
      this.persistence?.write(op);
    };
    return {
      aorInserted: (aor) => {
        if (!this.loading) {
          raiseAor('E_UL_AOR_INSERT', aor);
        }
      },
      aorDeleted: (aor) => {
        if (!this.loading) {
          raiseAor('E_UL_AOR_DELETE', aor);
          write({ op: 'aor-del', aor });
        }
      },
      contactInserted: (rec) => {
        if (!this.loading) {
          raiseContact('E_UL_CONTACT_INSERT', rec);
          write({ op: 'put', rec });
          this.replication?.changed(rec);
        }
      },
      contactUpdated: (rec, _prev, quiet) => {
        if (!this.loading) {
          if (!quiet) {
            raiseContact('E_UL_CONTACT_UPDATE', rec);
          }
          write({ op: 'put', rec });
          this.replication?.changed(rec);
        }
      },
      contactDeleted: (rec, reason, rev) => {
        if (!this.loading) {
          raiseContact('E_UL_CONTACT_DELETE', rec, reason);
          write({ op: 'del', aor: rec.aor, key: contactKey(rec), rev });
          this.replication?.deleted(rec, reason, rev);
        }
      },
      tombstoned: (aor, key, rev) => {
        if (!this.loading) {
          write({ op: 'del', aor, key, rev });
        }
      },
    };
  }
}
