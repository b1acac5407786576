/**
 * The in-memory location table: AoR -> bindings, with an index by Contact URI, revisions from a
 * hybrid logical clock, and tombstones for deleted bindings. Two ways in: local writes (`save`,
 * `remove`), which take a new revision, and `applyRecord`/`applyDelete`, which apply a record
 * only if it is newer than what is held (loading from disk or Redis, and the cluster's
 * replication later), so any order of those operations ends in the same state.
 *
 * Memory: an AoR holds a plain array of its bindings (a handful at most, scanned linearly)
 * rather than a Map each; the URI index holds the record itself when one binding has that URI.
 */
import { contactKey, type ContactInput, type ContactRecord, type RemoveReason } from './api.js';
import { buildRecord, Interner } from './record.js';

/** What the store tells its owner (events, persistence); called after the change is made. */
export interface StoreListener {
  aorInserted(aor: string): void;
  aorDeleted(aor: string): void;
  contactInserted(rec: ContactRecord): void;
  /** `quiet`: a flag change (nathelper) that raises no event but is still persisted. */
  contactUpdated(rec: ContactRecord, prev: ContactRecord, quiet: boolean): void;
  /** `rev`: the revision of the deletion (the tombstone's). */
  contactDeleted(rec: ContactRecord, reason: RemoveReason, rev: number): void;
  /** A deletion recorded for a binding this store did not hold (persist the tombstone). */
  tombstoned?(aor: string, key: string, rev: number): void;
}

export interface StoreOptions {
  /** Wall-clock ms since the epoch. */
  readonly wallTime: () => number;
  /** How long a deletion is remembered (ms). */
  readonly tombstoneTtlMs: number;
  readonly listener: StoreListener;
  /** Owner tag given to local saves that carry none (null: they stay untagged). */
  readonly defaultOwner?: string | null;
}

/** Revisions are wall ms × 1024 plus a counter: 1024 local writes per ms before it runs ahead. */
const REV_PER_MS = 1024;

const tombKey = (aor: string, key: string): string => `${aor}\u0000${key}`;

export class UsrlocStore {
  private readonly byAor = new Map<string, ContactRecord[]>();
  private readonly byUri = new Map<string, ContactRecord | ContactRecord[]>();
  /** Deleted bindings: `aor \0 key` -> revision of the deletion. */
  private readonly tombs = new Map<string, number>();
  private readonly intern = new Interner();
  private lastRev = 0;
  private contactCount = 0;

  constructor(private readonly opts: StoreOptions) {}

  /** A revision newer than any seen: max(wall ms × 1024, last + 1) (a hybrid logical clock). */
  nextRev(): number {
    this.lastRev = Math.max(this.opts.wallTime() * REV_PER_MS, this.lastRev + 1);
    return this.lastRev;
  }

  counts(): { aors: number; contacts: number } {
    return { aors: this.byAor.size, contacts: this.contactCount };
  }

  /** Live bindings of `aor`, q descending then most recently modified first. */
  lookup(aor: string): readonly ContactRecord[] {
    const list = this.byAor.get(aor);
    if (list === undefined) {
      return [];
    }
    const now = this.opts.wallTime();
    const live = list.filter((c) => c.expires > now);
    return live.length > 1 ? live.sort(byPreference) : live;
  }

  getContact(aor: string, key: string): ContactRecord | null {
    const list = this.byAor.get(aor);
    return list?.find((c) => contactKey(c) === key) ?? null;
  }

  findByContact(uri: string): readonly ContactRecord[] {
    const hit = this.byUri.get(uri);
    if (hit === undefined) {
      return [];
    }
    const now = this.opts.wallTime();
    return (Array.isArray(hit) ? hit : [hit]).filter((c) => c.expires > now);
  }

  /** Every binding of `aor` held, expired ones included, in insertion order. */
  held(aor: string): readonly ContactRecord[] {
    return this.byAor.get(aor) ?? [];
  }

  /** Whether any binding of `aor` is held (expired ones included). */
  hasAor(aor: string): boolean {
    return this.byAor.has(aor);
  }

  /** The AoRs held (expired bindings included until the expiry job removes them). */
  aors(): IterableIterator<string> {
    return this.byAor.keys();
  }

  /** Every binding held, expired or not (the expiry job and snapshots). */
  *records(): IterableIterator<ContactRecord> {
    for (const list of this.byAor.values()) {
      yield* list;
    }
  }

  /** Each AoR's bindings, the live arrays (a sync donor copies one before awaiting). */
  lists(): IterableIterator<readonly ContactRecord[]> {
    return this.byAor.values();
  }

  /** Every live binding. */
  *all(): IterableIterator<ContactRecord> {
    const now = this.opts.wallTime();
    for (const list of this.byAor.values()) {
      for (const c of list) {
        if (c.expires > now) {
          yield c;
        }
      }
    }
  }

  /** The held tombstones as `[aor, key, rev]` (snapshots write them so a restart keeps them). */
  *tombstones(): IterableIterator<[string, string, number]> {
    for (const [k, rev] of this.tombs) {
      const i = k.indexOf('\u0000');
      yield [k.slice(0, i), k.slice(i + 1), rev];
    }
  }

  /** Insert or update the binding `contactKey(input)` of `input.aor` with a new revision. */
  save(input: ContactInput): ContactRecord {
    // No object spread here: it costs more than the rest of the save together.
    const owner = input.owner ?? this.opts.defaultOwner ?? null;
    return this.put(input, this.opts.wallTime(), this.nextRev(), false, owner);
  }

  /** Change the flags of a binding (a new revision, no event). */
  setFlags(aor: string, key: string, flags: number): ContactRecord | null {
    const prev = this.getContact(aor, key);
    if (prev === null) {
      return null;
    }
    if (prev.flags === flags) {
      return prev;
    }
    return this.put({ ...prev, flags }, prev.lastModified, this.nextRev(), true, prev.owner);
  }

  /** Remove one binding with a new revision; false when there was none. */
  remove(aor: string, key: string, reason: RemoveReason): boolean {
    const prev = this.getContact(aor, key);
    if (prev === null) {
      return false;
    }
    this.drop(prev, key, reason, this.nextRev());
    return true;
  }

  /** Remove every binding of `aor`; returns how many went. */
  removeAor(aor: string, reason: RemoveReason): number {
    const list = this.byAor.get(aor);
    if (list === undefined) {
      return 0;
    }
    const all = [...list];
    for (const c of all) {
      this.drop(c, contactKey(c), reason, this.nextRev());
    }
    return all.length;
  }

  /**
   * Apply a record made elsewhere (a file, Redis, another node) if it is newer than the
   * binding held and than any deletion of it. Returns whether it was applied.
   */
  applyRecord(rec: ContactRecord): boolean {
    this.observe(rec.rev);
    const key = contactKey(rec);
    const held = this.getContact(rec.aor, key);
    if (held !== null && held.rev >= rec.rev) {
      return false;
    }
    const tomb = this.tombs.get(tombKey(rec.aor, key));
    if (tomb !== undefined && tomb >= rec.rev) {
      return false;
    }
    this.put(rec, rec.lastModified, rec.rev, false, rec.owner);
    return true;
  }

  /**
   * Apply a deletion made elsewhere: it removes the binding unless the binding is newer, and
   * is remembered as a tombstone either way. Returns whether it changed anything.
   */
  applyDelete(
    aor: string,
    key: string,
    rev: number,
    reason: RemoveReason = 'unregistered',
  ): boolean {
    this.observe(rev);
    const held = this.getContact(aor, key);
    if (held !== null) {
      if (held.rev >= rev) {
        return false;
      }
      this.drop(held, key, reason, rev);
      return true;
    }
    const tk = tombKey(aor, key);
    const tomb = this.tombs.get(tk);
    if (tomb !== undefined && tomb >= rev) {
      return false;
    }
    this.tombs.set(tk, rev);
    this.opts.listener.tombstoned?.(aor, key, rev);
    return true;
  }

  /** Forget deletions older than the tombstone TTL; returns how many went. */
  sweepTombstones(now: number): number {
    const oldest = (now - this.opts.tombstoneTtlMs) * REV_PER_MS;
    let n = 0;
    for (const [k, rev] of this.tombs) {
      if (rev < oldest) {
        this.tombs.delete(k);
        n++;
      }
    }
    return n;
  }

  tombstoneCount(): number {
    return this.tombs.size;
  }

  /** HLC receive rule: later local writes must order after what was seen. */
  private observe(rev: number): void {
    if (rev > this.lastRev) {
      this.lastRev = rev;
    }
  }

  private put(
    raw: ContactInput,
    lastModified: number,
    rev: number,
    quiet: boolean,
    owner: string | null,
  ): ContactRecord {
    const key = contactKey(raw);
    let list = this.byAor.get(raw.aor);
    const newAor = list === undefined;
    if (list === undefined) {
      list = [];
      this.byAor.set(raw.aor, list);
    }
    // The AoR string held as the map key is the one every record of the AoR points to.
    const aor = newAor ? raw.aor : (list[0]?.aor ?? raw.aor);
    const rec = buildRecord(raw, aor, owner, lastModified, rev, this.intern);
    this.tombs.delete(tombKey(aor, key));
    const i = list.findIndex((c) => contactKey(c) === key);
    const prev = i >= 0 ? list[i]! : null;
    const l = this.opts.listener;
    if (prev === null) {
      list.push(rec);
      this.contactCount++;
      this.indexUri(rec);
      if (newAor) {
        l.aorInserted(aor);
      }
      l.contactInserted(rec);
    } else {
      list[i] = rec;
      this.unindexUri(prev);
      this.indexUri(rec);
      l.contactUpdated(rec, prev, quiet);
    }
    return rec;
  }

  private drop(prev: ContactRecord, key: string, reason: RemoveReason, rev: number): void {
    const list = this.byAor.get(prev.aor)!;
    list.splice(list.indexOf(prev), 1);
    this.contactCount--;
    this.unindexUri(prev);
    this.tombs.set(tombKey(prev.aor, key), rev);
    this.opts.listener.contactDeleted(prev, reason, rev);
    if (list.length === 0) {
      this.byAor.delete(prev.aor);
      this.opts.listener.aorDeleted(prev.aor);
    }
  }

  private indexUri(rec: ContactRecord): void {
    const hit = this.byUri.get(rec.uri);
    if (hit === undefined) {
      this.byUri.set(rec.uri, rec);
    } else if (Array.isArray(hit)) {
      hit.push(rec);
    } else {
      this.byUri.set(rec.uri, [hit, rec]);
    }
  }

  private unindexUri(rec: ContactRecord): void {
    const hit = this.byUri.get(rec.uri);
    if (hit === rec) {
      this.byUri.delete(rec.uri);
    } else if (Array.isArray(hit)) {
      const rest = hit.filter((c) => c !== rec);
      this.byUri.set(rec.uri, rest.length === 1 ? rest[0]! : rest);
    }
  }
}

/** RFC 3261 §10.3 / §16.6: higher q first; among equals the most recent registration first. */
function byPreference(a: ContactRecord, b: ContactRecord): number {
  return b.q - a.q || b.lastModified - a.lastModified;
}
