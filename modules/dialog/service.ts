/**
 * The dialog module at run time: the store, profiles and timeout queue, the tracker that moves
 * dialogs through their states, and the jobs that act on them. Both jobs act only on dialogs
 * whose sharing tag is active on this node, so a backup holding the same dialogs (the cluster
 * issues replicate them) neither ends nor pings them twice.
 */
import {
  configError,
  randomToken,
  type ClusterApi,
  type ModuleHost,
  type ScriptContext,
} from '../../src/module/index.js';
import {
  DLG_STATE_EVENT,
  DlgState,
  type DialogApi,
  type DialogRecord,
  type DlgStateValue,
} from './api.js';
import type { Dialog } from './dialog.js';
import type { DialogParams } from './params.js';
import { PERIOD_MS, ProfileReplication } from './profile-repl.js';
import { Profiles } from './profiles.js';
import { DialogReplication } from './replication.js';
import { byeBoth, inDialogRequest } from './sender.js';
import { DialogStore } from './store.js';
import { TimeoutQueue } from './timeouts.js';
import { CURRENT, Tracker, type DialogCounters } from './tracker.js';

/** Ping outcomes that mean the other side no longer knows the call (RFC 3261 §12.2.2: 481). */
const DEAD = new Set([408, 481]);

const REASONS: Record<'timeout' | 'ping' | 'mi', string> = {
  timeout: 'dialog timeout',
  ping: 'dialog ping failed',
  mi: 'ended by operator',
};

export class DialogService implements DialogApi {
  readonly store = new DialogStore();
  readonly timeouts = new TimeoutQueue();
  readonly profiles: Profiles;
  readonly tracker: Tracker;
  /** BYEs and pings this node sent, and those that got no 2xx. */
  readonly sent = { byes: 0, bye_failures: 0, pings: 0, ping_failures: 0 };
  /** Dialog replication (`dialog_replication_cluster`), null when off. */
  readonly repl: DialogReplication | null = null;
  /** Profile count sharing (`profile_replication_cluster`), null when off. */
  readonly profRepl: ProfileReplication | null = null;
  private readonly listeners: ((d: DialogRecord) => void)[] = [];
  private readonly idPrefix = randomToken(4).toLowerCase();
  private idCounter = 0;
  private lastRev = 0;

  constructor(
    private readonly host: ModuleHost<DialogParams>,
    readonly counters: DialogCounters,
  ) {
    const p = host.params;
    this.profiles = new Profiles(p.profiles_with_value, p.profiles_no_value);
    this.tracker = new Tracker({
      params: p,
      store: this.store,
      profiles: this.profiles,
      timeouts: this.timeouts,
      counters: this.counters,
      logger: host.logger,
      wallTime: () => host.wallTime(),
      newId: () => `${this.idPrefix}.${(++this.idCounter).toString(36)}`,
      touch: (d) => {
        this.touch(d);
      },
      stateChanged: (d, from) => {
        this.stateChanged(d, from);
      },
      ended: (d) => {
        this.ended(d);
      },
    });
    const cluster = host.cluster;
    if (p.dialog_replication_cluster !== 0) {
      this.repl = new DialogReplication(
        {
          host,
          store: this.store,
          timeouts: this.timeouts,
          profiles: this.profiles,
          observe: (rev) => {
            this.lastRev = Math.max(this.lastRev, rev);
          },
          schedule: (d) => {
            this.schedule(d);
          },
          stateChanged: (d, from) => {
            this.stateChanged(d, from);
          },
          fire: (d) => {
            this.fire(d);
          },
        },
        clusterOf(cluster, 'dialog_replication_cluster', p.dialog_replication_cluster),
        p.dialog_replication_cluster,
      );
    }
    if (p.profile_replication_cluster !== 0) {
      this.profRepl = new ProfileReplication(
        host,
        this.profiles,
        clusterOf(cluster, 'profile_replication_cluster', p.profile_replication_cluster),
        p.profile_replication_cluster,
        p.profile_replication_cluster === p.dialog_replication_cluster,
      );
    }
  }

  /** Start the jobs (init). */
  start(): void {
    const tag = this.host.params.dlg_sharing_tag;
    if (this.host.cluster !== null && this.host.sharingTags.state(tag) === null) {
      // In a cluster a tag nobody configured is active nowhere: no node would end, ping or
      // bill these dialogs. Say so at start rather than let timeouts silently never fire.
      this.host.logger.warn(
        { dlg_sharing_tag: tag },
        'dialog: dlg_sharing_tag is not a sharing tag of this node (clusterer.sharing_tags): ' +
          'dialogs owned by it are acted on by no node',
      );
    }
    this.host.every('timeout', 1000, (r) => {
      this.expire(r.now);
    });
    this.host.every('ping', this.host.params.options_ping_interval * 1000, () => {
      this.pingRound();
    });
    const prof = this.profRepl;
    if (prof !== null) {
      this.host.every('profile_share', PROFILE_SHARE_MS, () => {
        prof.share();
      });
    }
  }

  /** Shutdown: timers of the profile sharing. */
  stop(): void {
    this.profRepl?.stop();
  }

  // --- DialogApi -------------------------------------------------------------------------

  current(ctx: ScriptContext): Dialog | null {
    return (ctx.vars.get(CURRENT) as Dialog | undefined) ?? null;
  }

  get(id: string): DialogRecord | null {
    return this.store.get(id) ?? null;
  }

  setVal(id: string, name: string, value: string): boolean {
    const d = this.store.get(id);
    if (d === undefined) {
      return false;
    }
    d.vals[name] = value;
    this.touch(d);
    return true;
  }

  onEnded(listener: (d: DialogRecord) => void): void {
    this.listeners.push(listener);
  }

  all(): IterableIterator<Dialog> {
    return this.store.values();
  }

  // --- sequential requests ---------------------------------------------------------------

  /** The loose-route hook: our Route entry carried a did. */
  looseRouted(ctx: ScriptContext): void {
    const id = ctx.route_param(this.host.params.rr_param);
    if (id === null || ctx.vars.has(CURRENT)) {
      return;
    }
    const d = this.store.get(id);
    if (d === undefined) {
      this.counters.unmatched++;
      return;
    }
    this.tracker.sequential(ctx, d);
  }

  /** `match_dialog()`: by did when our Route carried one, else by Call-ID and tags. */
  match(ctx: ScriptContext): boolean {
    if (ctx.vars.has(CURRENT)) {
      return true;
    }
    const req = ctx.msg;
    if (req.toTag() === null) {
      return false;
    }
    const id = ctx.route_param(this.host.params.rr_param);
    const byId = id === null ? undefined : this.store.get(id);
    const candidates = byId !== undefined ? [byId] : this.store.byCall(req.callId());
    const fromTag = req.fromTag();
    const toTag = req.toTag();
    const d = candidates.find((c) => c.sideOf(fromTag, toTag) !== null);
    return d !== undefined && this.tracker.sequential(ctx, d);
  }

  // --- ending ----------------------------------------------------------------------------

  /**
   * End a dialog from this node: BYE both sides when confirmed (flag B or an MI/ping end),
   * CANCEL when early. False when the dialog cannot be ended (gone, or its INVITE no longer
   * cancellable).
   */
  terminate(d: Dialog, reason: 'timeout' | 'ping' | 'mi', sendBye = true): boolean {
    if (d.state === DlgState.DELETED) {
      return false;
    }
    if (!d.confirmed) {
      if (this.tracker.cancelEarly(d, reason)) {
        return true;
      }
      d.status ||= 408;
      this.tracker.end(d, reason);
      return true;
    }
    this.tracker.end(d, reason);
    if (sendBye) {
      this.sent.byes += 2;
      void byeBoth(this.host.sip, d, REASONS[reason]).then(
        (r) => {
          this.sent.bye_failures += Number(r.caller >= 300) + Number(r.callee >= 300);
          this.host.logger.debug({ dialog: d.id, ...r }, 'dialog ended by the proxy');
        },
        (err: unknown) => {
          this.host.logger.error({ err, dialog: d.id }, 'dialog BYE could not be sent');
        },
      );
    }
    return true;
  }

  /** The timeout job: dialogs past their timeout (or unanswered past early_timeout). */
  expire(now: number): void {
    this.repl?.prune(now);
    for (const d of this.timeouts.due(now)) {
      if (!this.host.sharingTags.isActive(d.sharingTag)) {
        // Another node owns it; keep it due, so this node acts the moment it takes over.
        this.timeouts.schedule(d, now + 1000);
        continue;
      }
      this.counters.expired_dialogs++;
      this.terminate(d, 'timeout', d.flags.includes('B'));
    }
  }

  /** The ping job: OPTIONS to the sides the create_dialog flags name (P caller, p callee). */
  pingRound(): void {
    for (const d of this.store.values()) {
      if (d.state !== DlgState.CONFIRMED || !this.host.sharingTags.isActive(d.sharingTag)) {
        continue; // pings start after the ACK, so a ping never overtakes it (CSeq order)
      }
      if (d.flags.includes('P') && (d.pinging & 1) === 0) {
        this.ping(d, 1);
      }
      if (d.flags.includes('p') && (d.pinging & 2) === 0) {
        this.ping(d, 2);
      }
    }
  }

  private ping(d: Dialog, bit: 1 | 2): void {
    const [target, peer] = bit === 1 ? [d.caller, d.callee] : [d.callee, d.caller];
    d.pinging |= bit;
    this.touch(d);
    this.sent.pings++;
    void this.host.sip.request(inDialogRequest(d, 'OPTIONS', target, peer)).then(
      (r) => {
        d.pinging &= ~bit;
        if (DEAD.has(r.status) && d.state !== DlgState.DELETED) {
          this.sent.ping_failures++;
          this.host.logger.info(
            { dialog: d.id, side: bit === 1 ? 'caller' : 'callee', status: r.status },
            'dialog ping unanswered: ending the call',
          );
          this.terminate(d, 'ping');
        }
      },
      (err: unknown) => {
        d.pinging &= ~bit;
        this.host.logger.error({ err, dialog: d.id }, 'dialog ping could not be sent');
      },
    );
  }

  /** E_DLG_STATE_CHANGED, built only when someone listens. */
  private stateChanged(d: Dialog, from: DlgStateValue): void {
    if (!this.host.events.hasSubscribers(DLG_STATE_EVENT)) {
      return;
    }
    this.host.raise(DLG_STATE_EVENT, {
      id: d.id,
      callid: d.callId,
      from_tag: d.caller.tag ?? '',
      to_tag: d.callee.tag ?? '',
      old_state: from,
      new_state: d.state,
    });
  }

  /**
   * A revision for a change made now: wall-clock based, strictly increasing on this node and
   * above every revision seen from other nodes (a hybrid logical clock), so a change made here
   * after one made elsewhere is newer even when this node's clock lags.
   */
  nextRev(): number {
    this.lastRev = Math.max(this.lastRev + 1, this.host.wallTime() * 1024);
    return this.lastRev;
  }

  /** The dialog changed here: a newer revision, replicated with this step's other changes. */
  touch(d: Dialog): void {
    d.rev = this.nextRev();
    this.repl?.dirty(d);
  }

  /** Move the dialog to another owner tag (its profile counts move with it). */
  setSharingTag(d: Dialog, tag: string): void {
    this.profiles.retag(d, tag);
    this.touch(d);
  }

  /** Set the per-dialog timeout (seconds) and move its schedule when answered. */
  setTimeout(d: Dialog, seconds: number): void {
    d.timeout = seconds;
    this.touch(d);
    if (d.confirmed && d.answerTime !== null) {
      this.timeouts.schedule(d, d.answerTime + seconds * 1000);
    }
  }

  /**
   * The timeout queue entry a dialog's state calls for, from its absolute times (a copy from
   * another node keeps the time its owner gave it): the answer plus the timeout once
   * confirmed, the start plus early_timeout before.
   */
  private schedule(d: Dialog): void {
    if (d.confirmed && d.answerTime !== null) {
      this.timeouts.schedule(d, d.answerTime + d.timeout * 1000);
    } else if (!d.confirmed) {
      this.timeouts.schedule(d, d.startTime + this.host.params.early_timeout * 1000);
    }
  }

  /**
   * A dialog ended on this node. Its CDR (the onEnded listeners) is this node's to write only
   * where its tag is active; otherwise the end replicates and the active node writes it.
   */
  private ended(d: Dialog): void {
    const fired = this.host.sharingTags.isActive(d.sharingTag);
    if (fired) {
      this.fire(d);
    }
    this.repl?.ended(d, fired);
  }

  private fire(d: Dialog): void {
    for (const l of this.listeners) {
      l(d);
    }
  }
}

/** Dialogs' profile counts are re-sent this often (profile replication), in ms. */
const PROFILE_SHARE_MS = PERIOD_MS;

/** The cluster a replication parameter names; a configuration error when there is none. */
function clusterOf(cluster: ClusterApi | null, field: string, id: number): ClusterApi {
  if (cluster === null) {
    throw configError(
      `modules.dialog.${field}`,
      `${String(id)} needs the clusterer section (this node is standalone)`,
    );
  }
  if (!cluster.clusterIds().includes(id)) {
    throw configError(
      `modules.dialog.${field}`,
      `this node is not in cluster ${String(id)} (its clusters: ${cluster.clusterIds().join(', ')})`,
    );
  }
  return cluster;
}
