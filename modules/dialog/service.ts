/**
 * The dialog module at run time: the store, profiles and timeout queue, the tracker that moves
 * dialogs through their states, and the jobs that act on them. Both jobs act only on dialogs
 * whose sharing tag is active on this node, so a backup holding the same dialogs (the cluster
 * issues replicate them) neither ends nor pings them twice.
 */
import { randomToken, type ModuleHost, type ScriptContext } from '../../src/module/index.js';
import {
  DLG_STATE_EVENT,
  DlgState,
  type DialogApi,
  type DialogRecord,
  type DlgStateValue,
} from './api.js';
import type { Dialog } from './dialog.js';
import type { DialogParams } from './params.js';
import { Profiles } from './profiles.js';
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
      nextRev: () => this.nextRev(),
      stateChanged: (d, from) => {
        this.stateChanged(d, from);
      },
      ended: (d) => {
        for (const l of this.listeners) {
          l(d);
        }
      },
    });
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
    d.rev = this.nextRev();
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
    d.rev = this.nextRev();
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

  /** A revision for a change made now: wall-clock based, strictly increasing on this node. */
  nextRev(): number {
    this.lastRev = Math.max(this.lastRev + 1, this.host.wallTime() * 1024);
    return this.lastRev;
  }

  /** Set the per-dialog timeout (seconds) and move its schedule when answered. */
  setTimeout(d: Dialog, seconds: number): void {
    d.timeout = seconds;
    d.rev = this.nextRev();
    if (d.confirmed && d.answerTime !== null) {
      this.timeouts.schedule(d, d.answerTime + seconds * 1000);
    }
  }
}
