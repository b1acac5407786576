/**
 * Following calls through the proxy (RFC 3261 §12): `create_dialog()` on an initial INVITE, the
 * responses that make it early, confirmed or failed, the sequential requests matched by the
 * `did` of our Record-Route, and the one path every ending takes (profiles released, timers
 * dropped, the E_DLG_STATE_CHANGED event, the onEnded listeners such as the CDR writer).
 */
import {
  formatNameAddr,
  type Logger,
  type NameAddr,
  type ReceiveInfo,
  type ScriptContext,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../../src/module/index.js';
import { DlgState, type DialogEndReason, type DlgStateValue } from './api.js';
import { Dialog, Leg, own } from './dialog.js';
import type { DialogParams } from './params.js';
import type { Profiles } from './profiles.js';
import type { DialogStore } from './store.js';
import type { TimeoutQueue } from './timeouts.js';

/** ctx.vars key of the dialog a request belongs to (created or matched). */
export const CURRENT = 'dialog:current';

/** Counters of the module (OpenSIPS dialog statistic names). */
export interface DialogCounters {
  processed_dialogs: number;
  expired_dialogs: number;
  failed_dialogs: number;
  /** Sequential requests carrying our did that matched no dialog (ended, or forged). */
  unmatched: number;
}

export interface TrackerDeps {
  readonly params: DialogParams;
  readonly store: DialogStore;
  readonly profiles: Profiles;
  readonly timeouts: TimeoutQueue;
  readonly counters: DialogCounters;
  readonly logger: Logger;
  wallTime(): number;
  /** A new dialog id (unique in the cluster; URI-parameter safe). */
  newId(): string;
  /** The dialog changed: give it a newer revision (and replicate it). */
  touch(d: Dialog): void;
  stateChanged(d: Dialog, from: DlgStateValue): void;
  ended(d: Dialog): void;
}

export class Tracker {
  constructor(private readonly d: TrackerDeps) {}

  /**
   * `create_dialog(flags)` on an initial INVITE: the dialog starts unconfirmed, our
   * Record-Route gets its id, and its transaction is watched. False for anything else than an
   * initial INVITE, or when the request already has a dialog.
   */
  create(ctx: ScriptContext, flags: string): boolean {
    const req = ctx.msg;
    if (req.method !== 'INVITE' || req.toTag() !== null) {
      return false;
    }
    if (ctx.vars.has(CURRENT)) {
      return true;
    }
    const now = this.d.wallTime();
    const from = req.from();
    const cseq = req.cseq().seq;
    const caller = new Leg(
      own(req.fromTag()),
      own(from.uriText),
      own(contactUri(req) ?? from.uriText),
      // RFC 3261 §12.1.1: towards the caller the route set is the request's Record-Route as
      // received, nearest proxy first (we add ours on top of it when forwarding).
      req.recordRoutes().map(routeValue),
      cseq,
      ctx.rx.socket.id,
      sourceOf(ctx.rx),
    );
    const callee = new Leg(null, own(req.to().uriText), '', [], 0, null, null);
    const dlg = new Dialog(
      this.d.newId(),
      own(req.callId()),
      caller,
      callee,
      own(req.uri),
      now,
      this.d.params.default_timeout,
      flags,
      this.d.params.dlg_sharing_tag,
    );
    dlg.inviteCseq = cseq;
    this.d.touch(dlg);
    this.d.store.add(dlg);
    this.d.counters.processed_dialogs++;
    this.d.timeouts.schedule(dlg, now + this.d.params.early_timeout * 1000);
    ctx.vars.set(CURRENT, dlg);
    ctx.record_route();
    ctx.add_rr_param(this.d.params.rr_param, dlg.id);
    const handle = ctx.watch_transaction({
      response: (res, branch) => {
        this.onInitialResponse(dlg, res, branch.socketId, branch.addresses[branch.attempt - 1]);
      },
      final: (res) => {
        this.onInitialFinal(dlg, res);
      },
    });
    dlg.cancel = handle;
    return true;
  }

  /** A branch's response to the initial INVITE (our Via already removed). */
  private onInitialResponse(
    dlg: Dialog,
    res: SipResponse,
    socket: string | null,
    target: { protocol: string; address: string; port: number } | undefined,
  ): void {
    if (dlg.state === DlgState.DELETED || dlg.confirmed) {
      return; // a 2xx from a second fork: the caller ACKs and BYEs it; the proxy passes it
    }
    const status = res.status;
    const tag = res.toTag();
    if (status < 200) {
      // RFC 3261 §12.1: a provisional with a To tag creates an early dialog; each fork that
      // rings has its own tag, kept until one confirms.
      if (status > 100 && tag !== null) {
        const tags = (dlg.earlyTags ??= []);
        if (!tags.includes(tag)) {
          tags.push(own(tag));
          this.d.touch(dlg);
        }
        if (dlg.state === DlgState.UNCONFIRMED) {
          this.setState(dlg, DlgState.EARLY);
        }
      }
      return;
    }
    if (status >= 300 || tag === null) {
      return; // failures are settled by the final response sent upstream
    }
    // §12.1.2: the callee's remote target is the 2xx Contact; its route set (seen from us) is
    // the Record-Route entries above ours, nearest proxy first.
    const callee = dlg.callee;
    callee.tag = own(tag);
    callee.contact = own(contactUri(res) ?? callee.uri);
    callee.routeSet = routesAbove(res.recordRoutes(), this.d.params.rr_param, dlg.id);
    callee.socket = socket;
    callee.source =
      target === undefined ? null : `${target.protocol}:${target.address}:${target.port}`;
    this.confirm(dlg, status);
  }

  /** The final response to the initial INVITE as it goes upstream. */
  private onInitialFinal(dlg: Dialog, res: SipResponse): void {
    if (dlg.state === DlgState.DELETED) {
      return;
    }
    if (res.status < 300) {
      if (!dlg.confirmed) {
        // The script answered 2xx itself (no branch saw it): the answer names the callee.
        const tag = res.toTag();
        dlg.callee.tag = tag === null ? null : own(tag);
        dlg.callee.contact = own(contactUri(res) ?? dlg.callee.uri);
        this.confirm(dlg, res.status);
      }
      return;
    }
    if (dlg.confirmed) {
      return;
    }
    dlg.status = res.status;
    const reason: DialogEndReason = dlg.ending ?? (res.status === 487 ? 'cancelled' : 'failed');
    this.d.counters.failed_dialogs++;
    this.end(dlg, reason);
  }

  private confirm(dlg: Dialog, status: number): void {
    const now = this.d.wallTime();
    dlg.status = status;
    dlg.answerTime = now;
    dlg.earlyTags = null;
    dlg.cancel = null;
    this.d.timeouts.schedule(dlg, now + dlg.timeout * 1000);
    this.setState(dlg, DlgState.CONFIRMED_NA);
  }

  /**
   * A sequential request whose Route carried our did (the loose-route hook), or one matched by
   * Call-ID and tags (`match_dialog()`): keep each side's CSeq and target, move the state
   * (ACK confirms, BYE ends), and shift CSeq by what we originated towards the other side.
   */
  sequential(ctx: ScriptContext, dlg: Dialog): boolean {
    const req = ctx.msg;
    const side = dlg.sideOf(req.fromTag(), req.toTag());
    if (side === null || req.callId() !== dlg.callId) {
      this.d.counters.unmatched++;
      return false;
    }
    ctx.vars.set(CURRENT, dlg);
    const from = side === 'caller' ? dlg.caller : dlg.callee;
    const to = side === 'caller' ? dlg.callee : dlg.caller;
    const seq = req.cseq().seq;
    const method = req.method;
    if (method !== 'ACK' && method !== 'CANCEL' && seq > from.cseq) {
      from.cseq = seq;
      this.d.touch(dlg);
    }
    const shift = to.sent;
    if (method === 'ACK') {
      if (dlg.state === DlgState.CONFIRMED_NA && side === 'caller' && seq === dlg.inviteCseq) {
        this.setState(dlg, DlgState.CONFIRMED);
      }
      if (shift > 0) {
        // The ACK of a 2xx is forwarded without a transaction (§13.2.2.4): rewrite it here.
        setCseq(req, seq + shift);
      }
      return true;
    }
    if (method === 'BYE') {
      this.end(dlg, side);
    }
    const refresh = method === 'INVITE' || method === 'UPDATE';
    if (shift === 0 && !refresh) {
      return true;
    }
    ctx.watch_transaction({
      branch: (copy) => {
        if (shift > 0) {
          setCseq(copy, seq + shift);
        }
      },
      response: (res) => {
        if (shift > 0) {
          setCseq(res, seq);
        }
        // RFC 3261 §12.2.1.2 / §12.2.2: a 2xx to a target refresh replaces both remote targets.
        if (refresh && res.status >= 200 && res.status < 300 && dlg.state !== DlgState.DELETED) {
          const requester = contactUri(req);
          const responder = contactUri(res);
          if (requester !== null) {
            from.contact = own(requester);
          }
          if (responder !== null) {
            to.contact = own(responder);
          }
          this.d.touch(dlg);
        }
      },
    });
    return true;
  }

  /**
   * End an early dialog from outside (MI): CANCEL its INVITE; the 487 that follows ends it with
   * `reason`. False when it can no longer be cancelled.
   */
  cancelEarly(dlg: Dialog, reason: DialogEndReason): boolean {
    const handle = dlg.cancel;
    if (handle === null) {
      return false;
    }
    dlg.ending = reason;
    return handle.cancel();
  }

  /** The one way a dialog ends: state 5, profiles released, timers dropped, listeners told. */
  end(dlg: Dialog, reason: DialogEndReason): void {
    if (dlg.state === DlgState.DELETED) {
      return;
    }
    dlg.endTime = this.d.wallTime();
    dlg.endedBy = reason;
    this.d.touch(dlg);
    this.d.timeouts.cancel(dlg);
    dlg.cancel = null;
    this.d.profiles.release(dlg);
    this.d.store.remove(dlg);
    this.setState(dlg, DlgState.DELETED);
    try {
      // The object itself: a deleted dialog changes no more, and a copy per call costs.
      this.d.ended(dlg);
    } catch (err) {
      this.d.logger.error({ err, dialog: dlg.id }, 'dialog end listener failed');
    }
  }

  private setState(dlg: Dialog, state: DlgStateValue): void {
    const from = dlg.state;
    if (from === state) {
      return;
    }
    dlg.state = state;
    this.d.touch(dlg);
    this.d.stateChanged(dlg, from);
  }
}

/** The first Contact's URI, or null (none, or `*`). */
function contactUri(m: SipMessage): string | null {
  const c = m.contact();
  return c === null || c.star ? null : (c.contacts[0]?.uriText ?? null);
}

function routeValue(na: NameAddr): string {
  return own(formatNameAddr(na));
}

/**
 * The Record-Route entries of a 2xx above ours (those the request met after us, nearest
 * first): what the callee's leg routes through. Ours are the ones carrying our did.
 */
function routesAbove(rr: readonly NameAddr[], param: string, id: string): string[] {
  const ours = rr.findIndex((na) => na.uri.kind === 'sip' && na.uri.params.get(param) === id);
  if (ours < 0) {
    return [];
  }
  return rr.slice(0, ours).reverse().map(routeValue);
}

function sourceOf(rx: ReceiveInfo): string {
  const host = rx.sourceAddress.includes(':') ? `[${rx.sourceAddress}]` : rx.sourceAddress;
  return `${rx.protocol}:${host}:${String(rx.sourcePort)}`;
}

/** Rewrite the CSeq number, keeping the method. */
function setCseq(m: SipRequest | SipResponse, seq: number): void {
  m.setHeader('CSeq', `${String(seq)} ${m.cseq().method}`);
}
