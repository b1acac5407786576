/**
 * End to end, issue 8: registrations shared by a pair of real nodes (usrloc
 * `full-sharing-cluster`). 10,000 phones (sipp) register on A and are all on B with the same
 * contents; a re-register on B comes back to A; deletes replicate. Only the node where
 * `service/1` is active expires bindings and sends NAT keep-alives, and after
 * `shtag_set_active` on B it is B. A replication packet dropped on purpose (test hook) is
 * noticed and repaired by a resync.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createResponse, parseMessage, SipRequest } from '../../src/sip/index.js';
import { ClusterPlan, waitFor } from '../helpers/cluster-nodes.js';
import { registerFrom } from '../helpers/raw-register.js';
import { HAVE_SIPP, writeUsersCsv } from '../helpers/sipp.js';
import { check, run } from '../helpers/sipp-calls.js';

if (!HAVE_SIPP) {
  t.plan(0, 'sipp is not installed (Debian package sip-tester; .ci/run installs it)');
  process.exit(0);
}

const USRLOC = {
  db_mode: 'none',
  working_mode_preset: 'full-sharing-cluster',
  timer_interval: 1,
};

async function register(
  t: Test,
  plan: ClusterPlan,
  id: number,
  user: string,
  contact: string,
  expires: number,
): Promise<void> {
  const port = plan.node(id).sipPort;
  const r = run(t, {
    scenario: expires === 0 ? 'uac-unregister.xml' : 'uac-register.xml',
    remote: `127.0.0.1:${String(port)}`,
    keys: { user, domain: `127.0.0.1:${String(port)}`, contact, expires: String(expires) },
  });
  const out = await r.done;
  check(t, `${user} registered ${contact} on node ${String(id)}`, out.code, out);
}

async function contacts(plan: ClusterPlan, id: number): Promise<number> {
  return plan.stat(id, 'usrloc:contacts');
}

t.test('10,000 registrations on A are all on B; B writes back; deletes replicate', async (t) => {
  const plan = await ClusterPlan.create(t, {
    nodes: 2,
    modules: { usrloc: USRLOC, registrar: {} },
  });
  await plan.startReady([1, 2]);

  const dir = mkdtempSync(join(tmpdir(), 'tandem-repl-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const users = 10_000;
  const csv = writeUsersCsv(join(dir, 'users.csv'), users, 'r');
  const a = plan.node(1);
  const t0 = Date.now();
  const load = run(t, {
    scenario: 'uac-register-csv.xml',
    remote: `127.0.0.1:${String(a.sipPort)}`,
    calls: users,
    rate: 2000,
    limit: 2000,
    keys: { domain: `127.0.0.1:${String(a.sipPort)}` },
    timeoutSec: 120,
    extra: ['-inf', csv],
  });
  const out = await load.done;
  check(t, `${String(users)} REGISTERs answered 200 by A`, out.code, out);
  await waitFor('B holds every binding', async () => (await contacts(plan, 2)) === users, 60_000);
  t.comment(`registered and replicated in ${String(Date.now() - t0)} ms`);
  t.equal(await contacts(plan, 1), users, 'A holds them');
  const [da, db] = await Promise.all([plan.ulDump(1), plan.ulDump(2)]);
  t.equal(db.size, users, 'ul_dump on B lists every AoR');
  let differ = 0;
  for (const [aor, v] of da) {
    if (db.get(aor) !== v) {
      differ++;
    }
  }
  t.equal(differ, 0, 'every binding on B equals A (contact, Call-ID, CSeq, revision, owner)');

  // A re-register of one phone through B (a new contact) reaches A.
  const b = plan.node(2);
  await register(t, plan, 2, 'r7', `sip:r7@127.0.0.1:${String(b.sipPort + 1)}`, 600);
  await waitFor('A sees the binding made on B', async () => {
    const r = await plan.mi(1, 'ul_show_contact', ['r7@127.0.0.1']);
    return JSON.stringify(r).includes(`r7@127.0.0.1:${String(b.sipPort + 1)}`);
  });
  t.pass('the binding of r7@127.0.0.1 saved on B is on A');

  // Deletes: an unregister (Expires: 0) on A and an MI `ul_rm` on A go from B too.
  await register(t, plan, 1, 'del1', 'sip:del1@127.0.0.1:9', 600);
  await waitFor('B holds del1', async () => (await contacts(plan, 2)) === users + 2);
  await register(t, plan, 1, 'del1', 'sip:del1@127.0.0.1:9', 0);
  await plan.mi(1, 'ul_rm', ['r8@127.0.0.1']);
  await waitFor('B dropped both', async () => (await contacts(plan, 2)) === users);
  const [fa, fb] = await Promise.all([plan.ulDump(1), plan.ulDump(2)]);
  t.same([...fb].sort(), [...fa].sort(), 'after the re-register and the delete both dumps agree');
  t.equal(await contacts(plan, 1), users, 'A holds 10,000 - 1 + 1 bindings');
  t.same(plan.downEvents(1).concat(plan.downEvents(2)), [], 'no node was ever seen down');
});

/**
 * A phone's keep-alive end: registers from its own socket (no NAT: the Contact is where it
 * sends from), answers OPTIONS 200 and counts them by the sender's port.
 */
async function pingTarget(
  t: Test,
  proxyPort: number,
): Promise<{ port: number; from: Map<number, number> }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  t.teardown(() => {
    sock.close();
  });
  const from = new Map<number, number>();
  sock.on('message', (data, rinfo) => {
    let msg;
    try {
      msg = parseMessage(data);
    } catch {
      return;
    }
    if (msg instanceof SipRequest && msg.method === 'OPTIONS') {
      from.set(rinfo.port, (from.get(rinfo.port) ?? 0) + 1);
      sock.send(createResponse(msg, 200).toBuffer(), rinfo.port, rinfo.address);
    }
  });
  await registerFrom(sock, proxyPort, 'pinged', 600);
  return { port: sock.address().port, from };
}

t.test('only the active node expires and pings; after the switch only B does', async (t) => {
  const plan = await ClusterPlan.create(t, {
    nodes: 2,
    modules: {
      usrloc: { ...USRLOC, purge_grace: 600 },
      registrar: { min_expires: 1 },
      nathelper: { natping_interval: 1, ping_nated_only: false },
    },
  });
  await plan.startReady([1, 2]);
  const [a, b] = [plan.node(1), plan.node(2)];
  const phone = await pingTarget(t, a.sipPort);
  await waitFor('B holds the pinged binding', async () => (await contacts(plan, 2)) === 1);
  await waitFor('A pings', () => (phone.from.get(a.sipPort) ?? 0) >= 2, 15_000);
  t.equal(phone.from.get(b.sipPort) ?? 0, 0, 'B (backup) sent no ping');

  // Expiry: a short binding goes on A (the active node), and B drops it by replication.
  const expA0 = await plan.stat(1, 'usrloc:expires');
  const expB0 = await plan.stat(2, 'usrloc:expires');
  await register(t, plan, 1, 'short1', 'sip:short1@127.0.0.1:9', 2);
  await waitFor('short1 gone on both', async () => {
    return (await contacts(plan, 1)) === 1 && (await contacts(plan, 2)) === 1;
  });
  t.equal((await plan.stat(1, 'usrloc:expires')) - expA0, 1, 'A expired it');
  t.equal((await plan.stat(2, 'usrloc:expires')) - expB0, 0, 'B did not');

  await plan.mi(2, 'clusterer_shtag_set_active', ['service/1']);
  await waitFor('A backup', async () => {
    const r = (await plan.mi(1, 'clusterer_list_shtags')) as { Tag: string; State: string }[];
    return r.some((s) => s.Tag === 'service' && s.State === 'backup');
  });
  const pingsA = phone.from.get(a.sipPort) ?? 0;
  await waitFor('B pings', () => (phone.from.get(b.sipPort) ?? 0) >= 2, 15_000);
  t.ok((phone.from.get(a.sipPort) ?? 0) <= pingsA + 1, 'A stopped pinging (one in flight at most)');

  await register(t, plan, 1, 'short2', 'sip:short2@127.0.0.1:9', 2);
  await waitFor('short2 gone on both', async () => {
    return (await contacts(plan, 1)) === 1 && (await contacts(plan, 2)) === 1;
  });
  t.equal((await plan.stat(2, 'usrloc:expires')) - expB0, 1, 'B expired it after the switch');
  t.equal((await plan.stat(1, 'usrloc:expires')) - expA0, 1, 'A expired nothing more');
});

t.test('a dropped replication packet is detected and repaired by a resync', async (t) => {
  const plan = await ClusterPlan.create(t, {
    nodes: 2,
    modules: { usrloc: USRLOC, registrar: {} },
  });
  const hooks = { TANDEM_TEST_HOOKS: '1' };
  await Promise.all([plan.start(1, { env: hooks }), plan.start(2, { env: hooks })]);
  await waitFor('nodes ready', async () => (await plan.ready(1)).ok && (await plan.ready(2)).ok);
  await plan.mi(1, 'clusterer_test_drop_next', ['usrloc-contact-repl', 1]);
  await register(t, plan, 1, 'lost', 'sip:lost@127.0.0.1:9', 600);
  await register(t, plan, 1, 'next', 'sip:next@127.0.0.1:9', 600);
  await waitFor('B holds both bindings', async () => (await contacts(plan, 2)) === 2, 20_000);
  const [da, db] = await Promise.all([plan.ulDump(1), plan.ulDump(2)]);
  t.same([...db].sort(), [...da].sort(), 'B equals A');
  const caps = JSON.stringify(await plan.mi(2, 'clusterer_list_cap'));
  t.match(caps, /"gaps":[1-9]/, 'B counted the gap');
});
