import t from 'tap';
import { DEFAULT_TIMERS, Peer, type PeerHost } from '../../../src/cluster/net/peer.js';
import type { LinkState } from '../../../src/cluster/types.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { nodeInfo } from './harness.js';

/** A peer on a fake clock, recording its pings, link changes and failures. */
function rig(): {
  clock: FakeClock;
  peer: Peer;
  pings: number[];
  links: LinkState[];
  failed: number[];
} {
  const clock = new FakeClock(0);
  const pings: number[] = [];
  const links: LinkState[] = [];
  const failed: number[] = [];
  const host: PeerHost = {
    clock,
    timers: DEFAULT_TIMERS,
    sendPing: (_p, seq) => {
      pings.push(seq);
    },
    linkChanged: (p) => {
      links.push(p.link);
    },
    pingsFailed: () => {
      failed.push(clock.now());
    },
  };
  const peer = new Peer(nodeInfo(1, 2, 5000), host);
  return { clock, peer, pings, links, failed };
}

t.test('Up on the first pong, then a ping every interval', async (t) => {
  const { clock, peer, pings, links } = rig();
  peer.setLink('Probe');
  peer.startHeartbeat();
  t.same(pings, [1]);
  clock.advance(30);
  peer.onPong(1);
  t.same(links, ['Probe', 'Up']);
  t.equal(peer.rttMs, 30);
  clock.advance(DEFAULT_TIMERS.pingIntervalMs);
  t.same(pings, [1, 2], 'next ping one interval after the pong');
  clock.advance(10);
  peer.onPong(2);
  t.equal(peer.rttMs, 10);
  t.equal(peer.maxRttMs, 30);
  t.same(peer.status().rttMs, 10);
});

t.test('Down after the first ping and noPingRetries retries go unanswered', async (t) => {
  const { clock, peer, pings, failed } = rig();
  peer.startHeartbeat();
  clock.advance(DEFAULT_TIMERS.pingTimeoutMs * DEFAULT_TIMERS.noPingRetries);
  t.same(pings, [1, 2, 3, 4], 'each timeout retries at once');
  t.same(failed, []);
  clock.advance(DEFAULT_TIMERS.pingTimeoutMs);
  t.same(failed, [DEFAULT_TIMERS.pingTimeoutMs * (DEFAULT_TIMERS.noPingRetries + 1)]);
  t.equal(peer.pingTimeouts, 4);
  peer.onPong(4);
  t.equal(peer.rttMs, null, 'a pong after the verdict is ignored');
});

t.test('any frame is a sign of life; a late pong for an older ping is ignored', async (t) => {
  const { clock, peer, pings, failed } = rig();
  peer.startHeartbeat();
  clock.advance(500);
  peer.noteLife();
  clock.advance(500);
  t.same(pings, [1], 'the timeout found a sign of life: no retry');
  t.equal(peer.pingTimeouts, 0);
  clock.advance(DEFAULT_TIMERS.pingIntervalMs);
  t.same(pings, [1, 2]);
  clock.advance(DEFAULT_TIMERS.pingTimeoutMs);
  t.same(pings, [1, 2, 3], 'retried');
  peer.onPong(2);
  t.equal(peer.rttMs, null, 'the pong of the retried ping does not count');
  peer.onPong(3);
  t.not(peer.rttMs, null);
  peer.stopHeartbeat();
  t.equal(clock.pending(), 0);
  t.same(failed, []);
});
