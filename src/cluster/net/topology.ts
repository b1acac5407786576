/**
 * One cluster's view of the node graph: the latest adjacency each node advertised, and the
 * shortest paths from this node over it. An edge counts only when both ends list each other
 * (or, for this node's own edges, when the direct link is Up), so the last advertisement of a
 * node that died, still listing its old neighbours, routes nothing.
 */
import { isNewer, type Adjacency } from './core-messages.js';

/** Where a destination is reached through: the first hop and the path length. */
export interface Route {
  readonly nextHop: number;
  readonly hops: number;
}

export class Topology {
  private readonly adverts = new Map<number, Adjacency>();

  constructor(private readonly myNodeId: number) {}

  /** Store an update if it is newer than what is held for its origin; false when stale. */
  accept(a: Adjacency): boolean {
    if (a.origin === this.myNodeId || !isNewer(a, this.adverts.get(a.origin))) {
      return false;
    }
    this.adverts.set(a.origin, a);
    return true;
  }

  /** Every advertisement held, for a neighbour whose link just came Up. */
  all(): Adjacency[] {
    return [...this.adverts.values()];
  }

  /** Forget a node (removed from provisioning). */
  forget(nodeId: number): void {
    this.adverts.delete(nodeId);
  }

  /** The adjacency lists as known here (this node's own from `direct`), for MI output. */
  adjacency(direct: readonly number[]): Map<number, number[]> {
    const out = new Map<number, number[]>([[this.myNodeId, [...direct].sort((a, b) => a - b)]]);
    for (const [id, a] of this.adverts) {
      out.set(
        id,
        [...a.neighbours].sort((x, y) => x - y),
      );
    }
    return out;
  }

  /**
   * Breadth-first shortest paths from this node. `direct` are the peers whose link is Up,
   * `usable(id)` says whether a node may carry or receive traffic (provisioned and enabled);
   * among equal-length paths the neighbour listed first in `direct` wins (the caller orders
   * them by priority, as OpenSIPS picks the next hop by priority on equal hop counts).
   */
  routes(direct: readonly number[], usable: (id: number) => boolean): Map<number, Route> {
    const out = new Map<number, Route>();
    const queue: number[] = [];
    for (const n of direct) {
      if (usable(n) && !out.has(n)) {
        out.set(n, { nextHop: n, hops: 1 });
        queue.push(n);
      }
    }
    for (let i = 0; i < queue.length; i++) {
      const u = queue[i]!;
      const via = out.get(u)!;
      for (const v of this.adverts.get(u)?.neighbours ?? []) {
        if (v === this.myNodeId || out.has(v) || !usable(v)) {
          continue;
        }
        // Two-way check: v must list u too, else u's view of the link may be stale.
        if (!(this.adverts.get(v)?.neighbours.includes(u) ?? false)) {
          continue;
        }
        out.set(v, { nextHop: via.nextHop, hops: via.hops + 1 });
        queue.push(v);
      }
    }
    return out;
  }
}
