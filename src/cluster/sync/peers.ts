/**
 * What this node knows of its peers' sync state from their last STATUS, and the donor choice
 * built on it: reachable peers whose STATUS says synced for the capability; the source of a gap
 * first, then one that did not fail lately, then the least busy (fewest transfers served now),
 * then the most recently heard.
 */
import type { ClusterNetwork } from '../types.js';
import type { CapSync } from './cap-sync.js';
import type { StatusMsg } from './codec.js';

/** How long a donor that failed is passed over while another is available. */
export const FAILED_DONOR_MS = 30_000;

interface PeerView {
  readonly boot: number;
  readonly heardAt: number;
  readonly caps: Map<string, { synced: boolean; serving: number }>;
}

export class PeerViews {
  private readonly views = new Map<string, PeerView>();

  /** A STATUS arrived from `source`. */
  update(clusterId: number, source: number, m: StatusMsg, now: number): void {
    const caps = new Map<string, { synced: boolean; serving: number }>();
    for (const c of m.caps) {
      caps.set(c.name, { synced: c.synced, serving: c.serving });
    }
    this.views.set(`${clusterId}/${source}`, { boot: m.boot, heardAt: now, caps });
  }

  /** The peer went away: what it said may be stale when it returns (a restart). */
  forget(clusterId: number, nodeId: number): void {
    this.views.delete(`${clusterId}/${nodeId}`);
  }

  /** Does the peer's last STATUS say it is synced for the capability? */
  synced(cap: CapSync, nodeId: number): boolean {
    return this.views.get(`${cap.def.clusterId}/${nodeId}`)?.caps.get(cap.name)?.synced === true;
  }

  /** Donors for a capability, best first. */
  donors(network: ClusterNetwork, cap: CapSync, now: number): number[] {
    const c = cap.def.clusterId;
    const list = network
      .peers(c)
      .filter((p) => p.reachable && this.synced(cap, p.nodeId))
      .map((p) => {
        const view = this.views.get(`${c}/${p.nodeId}`)!;
        const failed = cap.failedAt.get(p.nodeId);
        return {
          id: p.nodeId,
          failed: failed !== undefined && now - failed < FAILED_DONOR_MS,
          serving: view.caps.get(cap.name)!.serving,
          heardAt: view.heardAt,
        };
      });
    list.sort(
      (a, b) =>
        Number(b.id === cap.prefer) - Number(a.id === cap.prefer) ||
        Number(a.failed) - Number(b.failed) ||
        a.serving - b.serving ||
        b.heardAt - a.heardAt,
    );
    return list.map((d) => d.id);
  }
}
