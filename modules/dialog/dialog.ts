/**
 * A dialog as the module holds it: one object per call implementing the replicated
 * {@link DialogRecord} shape, mutated in place as the call progresses (a new object per change
 * would double the garbage of a busy proxy). Strings cut from messages are detached first, so a
 * dialog never keeps a whole message alive (src/sip/detach.ts).
 */
import { detach } from '../../src/module/index.js';
import {
  DIALOG_RECORD_VERSION,
  DlgState,
  type DialogEndReason,
  type DialogLeg,
  type DialogRecord,
  type DlgStateValue,
} from './api.js';

/** One side of the dialog, mutable. */
export class Leg implements DialogLeg {
  constructor(
    public tag: string | null,
    public uri: string,
    public contact: string,
    public routeSet: readonly string[],
    public cseq: number,
    public socket: string | null,
    public source: string | null,
    public sent = 0,
  ) {}

  static of(l: DialogLeg): Leg {
    return new Leg(l.tag, l.uri, l.contact, l.routeSet, l.cseq, l.socket, l.source, l.sent);
  }
}

export class Dialog implements DialogRecord {
  readonly v = DIALOG_RECORD_VERSION;
  state: DlgStateValue = DlgState.UNCONFIRMED;
  answerTime: number | null = null;
  endTime: number | null = null;
  status = 0;
  endedBy: DialogEndReason | null = null;
  profiles: string[] = [];
  vals: Record<string, string> = {};
  rev = 0;
  /** To tags of provisional responses while early (forking: one per callee that rings). */
  earlyTags: string[] | null = null;
  /** The CSeq of the initial INVITE (its ACK carries it). */
  inviteCseq = 0;
  /** The timeout job's bucket (wall-clock second) holding the dialog; 0 while not scheduled. */
  due = 0;
  /** Pings still waiting for their answer, per side (a new round skips a pending one). */
  pinging = 0;
  /** Set by an MI end of an early dialog: the 487 that follows is recorded with this reason. */
  ending: DialogEndReason | null = null;

  constructor(
    readonly id: string,
    readonly callId: string,
    readonly caller: Leg,
    readonly callee: Leg,
    readonly requestUri: string,
    readonly startTime: number,
    public timeout: number,
    public flags: string,
    public sharingTag: string,
  ) {}

  /** Is the dialog answered (states 3 and 4)? */
  get confirmed(): boolean {
    return this.state === DlgState.CONFIRMED_NA || this.state === DlgState.CONFIRMED;
  }

  /** Which side a request comes from, by its From tag; null when it is not of this dialog. */
  sideOf(fromTag: string | null, toTag: string | null): 'caller' | 'callee' | null {
    if (fromTag === this.caller.tag && this.calleeTagMatches(toTag)) {
      return 'caller';
    }
    if (toTag === this.caller.tag && this.calleeTagMatches(fromTag)) {
      return 'callee';
    }
    return null;
  }

  private calleeTagMatches(tag: string | null): boolean {
    if (tag === null) {
      return false;
    }
    if (this.callee.tag !== null) {
      return tag === this.callee.tag;
    }
    return this.earlyTags?.includes(tag) ?? false;
  }
}

/** Detach a value cut from a message (null passes through). */
export function own(s: string): string;
export function own(s: string | null): string | null;
export function own(s: string | null): string | null {
  return s === null ? null : detach(s);
}
