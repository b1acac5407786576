/**
 * The channel's own packets, carried in ordinary frames under the reserved capability
 * {@link NET_CAPABILITY}: the handshake, heartbeats and topology updates. Payload layouts are in
 * docs/cluster-protocol.md; every reader checks lengths and returns null on a short or
 * inconsistent payload instead of throwing.
 */

/** Reserved capability of the channel's own packets; the control plane never registers it. */
export const NET_CAPABILITY = 'clusterer:net';

export const NetType = {
  /** First frame on a connection, both ways: names the connection's lane and our version. */
  HELLO: 1,
  PING: 2,
  PONG: 3,
  /** A node's adjacency (peers whose direct link is Up), flooded hop by hop. */
  TOPOLOGY: 4,
} as const;

/** Which connection of a peer pair a HELLO opens. */
export type ConnLane = 'main' | 'bulk';

export interface Hello {
  readonly protocolVersion: number;
  readonly lane: ConnLane;
}

export function encodeHello(h: Hello): Buffer {
  return Buffer.from([h.protocolVersion, h.lane === 'bulk' ? 1 : 0]);
}

export function decodeHello(p: Buffer): Hello | null {
  if (p.length !== 2 || p[1]! > 1) {
    return null;
  }
  return { protocolVersion: p[0]!, lane: p[1] === 1 ? 'bulk' : 'main' };
}

/** PING and PONG carry the ping's sequence number; the pong echoes it. */
export function encodeSeq(seq: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(seq >>> 0, 0);
  return b;
}

export function decodeSeq(p: Buffer): number | null {
  return p.length === 4 ? p.readUInt32BE(0) : null;
}

/**
 * A link-state advertisement. `(boot, counter)` orders the updates of one origin: `boot` is the
 * origin's start time (ms since the epoch), so a restarted node's first update beats everything
 * it sent before it restarted; `counter` grows with every change after that.
 */
export interface Adjacency {
  readonly origin: number;
  readonly boot: number;
  readonly counter: number;
  readonly neighbours: readonly number[];
}

export function encodeAdjacency(a: Adjacency): Buffer {
  const b = Buffer.allocUnsafe(16 + 2 * a.neighbours.length);
  b.writeUInt16BE(a.origin, 0);
  b.writeDoubleBE(a.boot, 2);
  b.writeUInt32BE(a.counter >>> 0, 10);
  b.writeUInt16BE(a.neighbours.length, 14);
  a.neighbours.forEach((n, i) => b.writeUInt16BE(n, 16 + 2 * i));
  return b;
}

export function decodeAdjacency(p: Buffer): Adjacency | null {
  if (p.length < 16) {
    return null;
  }
  const count = p.readUInt16BE(14);
  if (p.length !== 16 + 2 * count) {
    return null;
  }
  const boot = p.readDoubleBE(2);
  if (!Number.isFinite(boot)) {
    return null;
  }
  const neighbours: number[] = [];
  for (let i = 0; i < count; i++) {
    neighbours.push(p.readUInt16BE(16 + 2 * i));
  }
  return { origin: p.readUInt16BE(0), boot, counter: p.readUInt32BE(10), neighbours };
}

/** True when `a` is a newer update of its origin than `b`. */
export function isNewer(a: Adjacency, b: Adjacency | undefined): boolean {
  if (b === undefined) {
    return true;
  }
  return a.boot > b.boot || (a.boot === b.boot && a.counter > b.counter);
}
