/** The channel's counters (`NetworkStats`), kept as plain fields and copied on read. */
import type { NetworkStats } from '../types.js';

interface CapCounters {
  pktsIn: number;
  pktsOut: number;
  bytesIn: number;
  bytesOut: number;
}

export class NetStats {
  refusedConnections = 0;
  badFrames = 0;
  /** Frames of another protocol version skipped by their length (also in `badFrames`). */
  unknownVersion = 0;
  relayed = 0;
  private readonly perCapability = new Map<string, CapCounters>();

  private counters(capability: string): CapCounters {
    let c = this.perCapability.get(capability);
    if (c === undefined) {
      c = { pktsIn: 0, pktsOut: 0, bytesIn: 0, bytesOut: 0 };
      this.perCapability.set(capability, c);
    }
    return c;
  }

  in(capability: string, bytes: number): void {
    const c = this.counters(capability);
    c.pktsIn++;
    c.bytesIn += bytes;
  }

  out(capability: string, bytes: number): void {
    const c = this.counters(capability);
    c.pktsOut++;
    c.bytesOut += bytes;
  }

  snapshot(): NetworkStats & { unknownVersionFrames: number } {
    return {
      refusedConnections: this.refusedConnections,
      badFrames: this.badFrames,
      unknownVersionFrames: this.unknownVersion,
      relayed: this.relayed,
      perCapability: new Map([...this.perCapability].map(([k, v]) => [k, { ...v }])),
    };
  }
}
