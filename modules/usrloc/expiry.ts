/**
 * The expiry job: removes bindings whose expiry has passed, on data whose owner sharing tag is
 * active on this node (a backup holds the same bindings and leaves them to the active node),
 * and forgets tombstones past their TTL. Lookups filter expired bindings themselves, so the
 * job's period bounds memory and event latency, not correctness.
 */
import type { SharingTags } from '../../src/module/index.js';
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
