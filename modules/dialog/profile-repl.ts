/**
 * Profile replication (capability `dialog-prof-repl`, OpenSIPS `profile_replication_cluster`):
 * each node counts, per profile and value, the dialogs whose sharing tag is active on it and
 * shares those counts; a profile's size is this node's counts plus each peer's counts for the
 * tags it reports active and that are not active here. A dialog is counted by the one node
 * active for its tag, so the sum counts every call of the cluster once, before and after a
 * switch: the node taking a tag over counts its dialogs at once (they are held, replicated), and
 * skips the old holder's report of that tag from then on. Without dialog replication in the same
 * cluster a node holds only the dialogs it created, so it counts and reports all of them, and
 * adds all of each peer's counts.
 *
 * A node's counts go as one packet (its whole table, so a lost packet is repaired by the next)
 * shortly after a change ({@link DEBOUNCE_MS}), every {@link PERIOD_MS}, and to a node that comes
 * up; a peer's counts are dropped when it goes down. Nothing needs a start-up transfer, so the
 * capability has no `sync` (synced at once). Payload: UTF-8 JSON
 * `[[tag, [[profile, value, count], ...]], ...]`.
 */
import type {
  Capability,
  CapabilityEvent,
  CapabilityPacket,
  ClusterApi,
  ModuleHost,
  TimerHandle,
} from '../../src/module/index.js';
import type { DialogParams } from './params.js';
import type { CountTable, Profiles } from './profiles.js';

export const PROF_CAPABILITY = 'dialog-prof-repl';
/** Version of the counts payload. */
export const PROF_DATA_VERSION = 1;
const T_COUNTS = 1;
/** Changes within this window leave as one packet. */
export const DEBOUNCE_MS = 200;
/** Counts are re-sent this often even without a change. */
export const PERIOD_MS = 5_000;

type Wire = [string, [string, string, number][]][];

/** Every count is this node's own (no dialog replication). */
const ALL = (): boolean => true;

export class ProfileReplication {
  readonly counters = { sent: 0, received: 0, bad: 0 };
  readonly cap: Capability;
  /** Peer node -> its counts per tag it reported active. */
  private readonly peers = new Map<number, Map<string, CountTable>>();
  private timer: TimerHandle | null = null;
  /** Which of this node's counts are its own to report (and to add to its sizes). */
  private readonly own: (tag: string) => boolean;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly host: ModuleHost<DialogParams>,
    private readonly profiles: Profiles,
    cluster: ClusterApi,
    clusterId: number,
    /** Does every node hold every dialog (dialog replication in this cluster)? */
    holdsAll: boolean,
  ) {
    const tags = host.sharingTags;
    this.own = holdsAll ? (tag) => tags.isActive(tag) : ALL;
    profiles.setView({
      own: this.own,
      peers: () => this.peerTables(),
    });
    profiles.changed = () => {
      this.soon();
    };
    // A tag moving here (or away) changes what this node counts.
    this.unsubscribe = tags.onChange(() => {
      this.soon();
    });
    this.cap = cluster.registerCapability({
      name: PROF_CAPABILITY,
      clusterId,
      dataVersion: PROF_DATA_VERSION,
      onPacket: (p) => {
        this.onPacket(p);
      },
      onEvent: (e) => {
        this.onEvent(e);
      },
    });
  }

  /** The periodic share (the `profile_share` job). */
  share(): void {
    if (this.timer !== null) {
      this.timer.cancel();
      this.timer = null;
    }
    this.cap.sendAll(T_COUNTS, this.encode());
    this.counters.sent++;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.unsubscribe();
  }

  private soon(): void {
    this.timer ??= this.host.clock.setTimer(DEBOUNCE_MS, () => {
      this.timer = null;
      this.share();
    });
  }

  private *peerTables(): Iterable<CountTable> {
    for (const tags of this.peers.values()) {
      for (const [tag, table] of tags) {
        // The tag's dialogs this node holds and counts itself are not the peer's to add.
        if (this.own === ALL || !this.own(tag)) {
          yield table;
        }
      }
    }
  }

  private encode(): Buffer {
    const out: Wire = [];
    for (const [tag, table] of this.profiles.ownCounts(this.own)) {
      const rows: [string, string, number][] = [];
      for (const [name, values] of table) {
        for (const [value, n] of values) {
          rows.push([name, value, n]);
        }
      }
      out.push([tag, rows]);
    }
    return Buffer.from(JSON.stringify(out));
  }

  private onPacket(p: CapabilityPacket): void {
    const tags = p.type === T_COUNTS ? decode(p.payload) : null;
    if (tags === null) {
      this.counters.bad++;
      this.host.logger.debug({ source: p.source }, 'profile replication: bad packet dropped');
      return;
    }
    this.counters.received++;
    this.peers.set(p.source, tags);
  }

  private onEvent(e: CapabilityEvent): void {
    if (e.kind === 'node_up') {
      void this.cap.sendTo(e.nodeId, T_COUNTS, this.encode());
      this.counters.sent++;
    } else if (e.kind === 'node_down') {
      this.peers.delete(e.nodeId);
    }
  }
}

function decode(buf: Buffer): Map<string, CountTable> | null {
  let o: unknown;
  try {
    o = JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(o)) {
    return null;
  }
  const out = new Map<string, CountTable>();
  for (const entry of o as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) {
      return null;
    }
    const table: CountTable = new Map();
    for (const row of entry[1] as unknown[]) {
      if (
        !Array.isArray(row) ||
        typeof row[0] !== 'string' ||
        typeof row[1] !== 'string' ||
        !Number.isSafeInteger(row[2]) ||
        (row[2] as number) <= 0
      ) {
        return null;
      }
      let m = table.get(row[0]);
      if (m === undefined) {
        m = new Map();
        table.set(row[0], m);
      }
      m.set(row[1], row[2] as number);
    }
    out.set(entry[0], table);
  }
  return out;
}
