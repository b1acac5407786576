/**
 * nathelper's pinger over replicated usrloc nodes on the in-memory cluster: with `ownership`
 * only the node where the tag is active pings (until the tag moves), with `cooperation` the
 * synced nodes share the AoRs, each pinged by exactly one node.
 */
import t from 'tap';
import { silentLogger } from '../../../src/core/logger.js';
import type { SendTarget, SipOriginator } from '../../../src/module/index.js';
import { flush } from '../../../test/helpers/memory-clusterer.js';
import { ContactFlags } from '../../usrloc/api.js';
import { ulCluster, type UlNode } from '../../usrloc/test/cluster.js';
import { input } from '../../usrloc/test/helpers.js';
import { Pinger } from '../ping.js';

/** A pinger sending CRLF keep-alives into a list. */
function pinger(node: UlNode): { p: Pinger; sent: SendTarget[] } {
  const sent: SendTarget[] = [];
  const sip: SipOriginator = {
    request: () => Promise.reject(new Error('CRLF only')),
    sendRaw: (target) => {
      sent.push(target);
    },
  };
  const p = new Pinger(
    node.api,
    { sip },
    { method: 'CRLF', all: false, maxUnanswered: 0 },
    silentLogger,
  );
  return { p, sent };
}

function register(node: UlNode, n: number): void {
  for (let i = 0; i < n; i++) {
    node.api.save(
      input({
        aor: `sip:nat${String(i)}@example.com`,
        uri: `sip:nat${String(i)}@192.168.1.${String(1 + (i % 200))}:5060`,
        flags: ContactFlags.NAT,
      }),
    );
  }
}

t.test('ownership: the active node pings, the backup does not, until the tag moves', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [UlNode, UlNode];
  register(a, 20);
  await flush();
  const pa = pinger(a);
  const pb = pinger(b);
  t.equal(pa.p.round(), 20);
  t.equal(pb.p.round(), 0, 'backup: no pings');
  b.c.sharingTags().activate('service/1');
  await flush();
  t.equal(pa.p.round(), 0, 'stepped down: A stops');
  t.equal(pb.p.round(), 20, 'B pings now');
});

t.test('cooperation: three synced nodes share the AoRs', async (t) => {
  const k = await ulCluster(3, { pinging_mode: 'cooperation' });
  t.teardown(() => k.stop());
  register(k.nodes[1]!, 90);
  await flush();
  const rounds = k.nodes.map((n) => pinger(n).p.round());
  t.equal(
    rounds.reduce((s, x) => s + x, 0),
    90,
    `each AoR pinged once across the nodes (${rounds.join(', ')})`,
  );
  t.ok(
    rounds.every((x) => x > 0),
    'every node takes part',
  );
});
