/**
 * The expiry job: removes bindings whose expiry has passed, on data whose owner sharing tag is
 * active on this node (a backup holds the same bindings and leaves them to the active node),
 * and forgets tombstones past their TTL. Lookups filter expired bindings themselves, so the
 * job's period bounds memory and event latency, not correctness.
 */
import type { ModuleSharingTags, SharingTags } from '../../src/module/index.js';
import { contactKey, type ContactRecord } from './api.js';
import type { UsrlocStore } from './store.js';

/** Remove the expired bindings `tags` lets this node act on; returns how many went. */
export function expireContacts(store: UsrlocStore, tags: SharingTags, now: number): number {
  // Collected first: removing while walking the AoR map would skip entries.
  const due: ContactRecord[] = [];
  for (const c of store.records()) {
    if (c.expires <= now && tags.isActive(c.owner)) {
      due.push(c);
    }
  }
  let n = 0;
  for (const c of due) {
    if (store.remove(c.aor, contactKey(c), 'expired')) {
      n++;
    }
  }
  store.sweepTombstones(now);
  return n;
}

/** When each tag was first seen held active by no reachable node (the backups' grace clock). */
export type UnheldSince = Map<string, number>;

/**
 * A backup's purge: expired bindings whose owner tag no reachable node has held active for
 * `graceMs` are removed here (a tag nobody holds would otherwise keep them for ever). Tags that
 * are held again leave `unheld`. Returns how many went.
 */
export function purgeUnowned(
  store: UsrlocStore,
  tags: ModuleSharingTags,
  now: number,
  graceMs: number,
  unheld: UnheldSince,
): number {
  const held = new Map<string, boolean>();
  const due: ContactRecord[] = [];
  for (const c of store.records()) {
    if (c.owner === null || tags.isActive(c.owner)) {
      continue;
    }
    let h = held.get(c.owner);
    if (h === undefined) {
      h = tags.heldActive(c.owner);
      held.set(c.owner, h);
      if (h) {
        unheld.delete(c.owner);
      } else if (!unheld.has(c.owner)) {
        unheld.set(c.owner, now);
      }
    }
    if (!h && c.expires <= now && now - unheld.get(c.owner)! >= graceMs) {
      due.push(c);
    }
  }
  // Tags this node no longer holds bindings of are forgotten: a later outage starts a fresh grace.
  for (const tag of unheld.keys()) {
    if (!held.has(tag)) {
      unheld.delete(tag);
    }
  }
  let n = 0;
  for (const c of due) {
    if (store.remove(c.aor, contactKey(c), 'expired')) {
      n++;
    }
  }
  return n;
}
