/**
 * Sending a capability's live packets: each destination gets its own sequence number after the
 * data version and this node's boot id. `sendAll` numbers every provisioned peer, reachable or
 * not, so a packet that could not go out is a gap its receiver sees (by the next packet or by
 * the next STATUS) and repairs with a resync. Nothing here waits.
 */
import type { ClusterNetwork, Lane, SendResult } from '../types.js';
import type { CapSync } from './cap-sync.js';
import { encodeLive } from './codec.js';

/** The test hook `clusterer:test_drop_next`: this packet is lost after being numbered. */
function takeDrop(cap: CapSync): boolean {
  if (cap.dropNext > 0) {
    cap.dropNext--;
    return true;
  }
  return false;
}

/** Send to every provisioned peer; returns how many reachable peers it was queued for. */
export function sendAll(
  network: ClusterNetwork,
  boot: number,
  cap: CapSync,
  type: number,
  payload: Buffer,
  lane: Lane | undefined,
): number {
  const drop = takeDrop(cap);
  let n = 0;
  for (const peer of network.peers(cap.def.clusterId)) {
    const seq = cap.nextSeq(peer.nodeId);
    if (!peer.reachable) {
      continue;
    }
    if (drop) {
      // Lost on the wire: the sender cannot tell.
      n++;
      continue;
    }
    const r = network.send(
      {
        clusterId: cap.def.clusterId,
        destination: peer.nodeId,
        capability: cap.name,
        type,
        payload: encodeLive(cap.def.dataVersion, boot, seq, payload),
      },
      lane,
    );
    n += r === 'queued' || r instanceof Promise ? 1 : 0;
  }
  return n;
}

/** Send to one node (numbered when it is a provisioned peer). */
export function sendTo(
  network: ClusterNetwork,
  boot: number,
  cap: CapSync,
  nodeId: number,
  type: number,
  payload: Buffer,
  lane: Lane | undefined,
): SendResult | Promise<SendResult> {
  const known = network.peers(cap.def.clusterId).some((p) => p.nodeId === nodeId);
  const seq = known ? cap.nextSeq(nodeId) : 0;
  if (takeDrop(cap)) {
    return 'queued';
  }
  return network.send(
    {
      clusterId: cap.def.clusterId,
      destination: nodeId,
      capability: cap.name,
      type,
      payload: encodeLive(cap.def.dataVersion, boot, seq, payload),
    },
    lane,
  );
}
