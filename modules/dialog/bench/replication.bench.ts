/**
 * Dialog replication costs, printed as a JSON line:
 *
 *     node --import tsx modules/dialog/bench/replication.bench.ts [dialogs=100000]
 *
 * A donor holds `dialogs` confirmed calls shaped like the memory bench's (40-char Call-ID, a
 * route set on each side, two profiles, the acc mark); the bench measures the bytes of one
 * replicated record, a full transfer (the donor's `donate` into a receiver's `apply`,
 * in process: the engine's chunking and the network are not part of it) and the live path
 * (a change encoded on one node and applied on another).
 */
import type { CapabilityDefinition, ClusterApi, ModuleHost } from '../../../src/module/index.js';
import { DlgState } from '../api.js';
import { decodeDialog, encodeDialog } from '../codec.js';
import { Dialog, Leg } from '../dialog.js';
import { dialogParams, type DialogParams } from '../params.js';
import { DLG_CAPABILITY } from '../replication.js';
import { DialogService } from '../service.js';

const count = Number(process.argv[2] ?? 100_000);
const T0 = 1_800_000_000_000;
const noop = (): undefined => undefined;
const quiet = { fatal: noop, error: noop, warn: noop, info: noop, debug: noop, trace: noop };

/** A dialog service on a cluster that only records the capability it registers. */
function service(): { svc: DialogService; def: CapabilityDefinition } {
  const got: { def?: CapabilityDefinition } = {};
  const cluster = {
    myNodeId: 1,
    clusterIds: () => [1],
    registerCapability: (d: CapabilityDefinition) => {
      got.def = d;
      return { sendAll: () => 1, requestSync: () => true };
    },
  } as unknown as ClusterApi;
  const host = {
    name: 'dialog',
    params: dialogParams.parse({
      profiles_no_value: 'calls',
      profiles_with_value: 'caller',
      dialog_replication_cluster: 1,
    }),
    clock: { now: () => 0, setTimer: () => ({ cancel: noop }) },
    wallTime: () => T0,
    sharingTags: { isActive: () => true, state: () => 'active' },
    cluster,
    every: noop,
    logger: quiet,
    raise: noop,
    events: { hasSubscribers: () => false },
  } as unknown as ModuleHost<DialogParams>;
  const svc = new DialogService(host, {
    processed_dialogs: 0,
    expired_dialogs: 0,
    failed_dialogs: 0,
    unmatched: 0,
  });
  if (got.def === undefined) {
    throw new Error('no capability registered');
  }
  return { svc, def: got.def };
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function dialog(i: number): Dialog {
  const user = `cust${String(i % 977)}`;
  const d = new Dialog(
    `${hex(i * 97, 8)}.${i.toString(36)}`,
    `${hex(i * 2654435761, 16)}${hex(i, 16)}@192.0.2.${String(i % 250)}`,
    new Leg(
      hex(i * 7, 10),
      `sip:${user}@pbx.example.com`,
      `sip:${user}@192.0.2.${String(i % 250)}:5060;transport=udp`,
      [`<sip:198.51.100.1;lr;ftag=${hex(i, 8)}>`],
      101,
      'udp:10.0.0.1:5060',
      `udp:192.0.2.${String(i % 250)}:5060`,
    ),
    new Leg(
      hex(i * 13, 12),
      `sip:+4930${String(1_000_000 + i)}@carrier.example.net`,
      `sip:gw@203.0.113.${String(i % 200)}:5060`,
      ['<sip:203.0.113.9;lr>'],
      0,
      'udp:10.0.0.1:5060',
      'udp:203.0.113.9:5060',
    ),
    `sip:+4930${String(1_000_000 + i)}@carrier.example.net`,
    T0,
    43200,
    'B',
    'service/1',
  );
  d.state = DlgState.CONFIRMED;
  d.answerTime = T0 + 3000;
  d.status = 200;
  d.profiles = ['calls', `caller/${user}`];
  d.vals = { acc: 'cdr', acc_missed: '1' };
  d.inviteCseq = 101;
  d.rev = T0 * 1024 + i;
  return d;
}

const donor = service();
for (let i = 0; i < count; i++) {
  donor.svc.repl!.applyRecord(decodeDialog(encodeDialog(dialog(i)))!);
}
const bytes = encodeDialog(donor.svc.store.get(dialog(1).id)!).length;

// Full transfer: donate -> apply on a fresh receiver.
const receiver = service();
const sync = receiver.def.sync!;
const ctx = { node: 1, scope: null };
let sent = 0;
let total = 0;
const t0 = performance.now();
await donor.def.sync!.donate({ node: 2, scope: null }, (record) => {
  total += record.length;
  sent++;
  sync.apply(record, ctx);
});
const syncMs = performance.now() - t0;
if (receiver.svc.store.size !== count || sent !== count) {
  throw new Error(`transfer incomplete: ${String(receiver.svc.store.size)} of ${String(count)}`);
}

// Live path: a change (new revision) encoded on the donor, applied on the receiver.
const live = Math.min(count, 50_000);
const t1 = performance.now();
let i = 0;
for (const d of donor.svc.store.values()) {
  if (i++ >= live) {
    break;
  }
  d.rev += 1_000_000;
  receiver.def.onPacket({ clusterId: 1, source: 1, type: 1, payload: encodeDialog(d) });
}
const liveMs = performance.now() - t1;

process.stdout.write(
  JSON.stringify({
    bench: 'dialog-replication',
    dialogs: count,
    capability: DLG_CAPABILITY,
    record_bytes: bytes,
    sync_bytes_total: total,
    sync_ms: Math.round(syncMs),
    sync_records_per_s: Math.round(count / (syncMs / 1000)),
    live_updates: live,
    live_updates_per_s: Math.round(live / (liveMs / 1000)),
  }) + '\n',
);
