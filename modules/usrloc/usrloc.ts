/**
 * The location service: the store, its events and statistics, and the persistent store chosen
 * by `db_mode`, put together behind {@link UsrlocApi}. The store tells this class of every
 * change; it raises the E_UL_* events and queues the write, except while loading (what is read
 * from the store is already there, and a restart is not a registration).
 */
import type { ModuleHost } from '../../src/module/index.js';
import {
  contactKey,
  type ContactInput,
  type ContactRecord,
  type RemoveReason,
  type UsrlocApi,
} from './api.js';
import { contactParams } from './events.js';
import { expireContacts } from './expiry.js';
import type { UsrlocParams } from './params.js';
import { AofPersistence } from './persistence/aof.js';
import { RedisPersistence } from './persistence/redis.js';
import type { LoadReport, Persistence } from './persistence/types.js';
import { UsrlocStore, type StoreListener } from './store.js';

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
  private loading = false;

  constructor(private readonly host: ModuleHost<UsrlocParams>) {
    const p = host.params;
    this.store = new UsrlocStore({
      wallTime: () => host.wallTime(),
      tombstoneTtlMs: p.tombstone_ttl * 1000,
      listener: this.listener(),
    });
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
        }
      },
      contactUpdated: (rec, _prev, quiet) => {
        if (!this.loading) {
          if (!quiet) {
            raiseContact('E_UL_CONTACT_UPDATE', rec);
          }
          write({ op: 'put', rec });
        }
      },
      contactDeleted: (rec, reason, rev) => {
        if (!this.loading) {
          raiseContact('E_UL_CONTACT_DELETE', rec, reason);
          write({ op: 'del', aor: rec.aor, key: contactKey(rec), rev });
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
