/**
 * The wire form of a replicated dialog (capability `dialog-dlg-repl`, live packets and sync
 * records alike; a sync record has a kind byte before it, replication.ts): the {@link DialogRecord} plus what a copy needs to follow the call as the
 * creating node would (the INVITE's CSeq, which confirms on its ACK; the ringing forks' tags,
 * which match early in-dialog requests). UTF-8 JSON in a Buffer: JSON fixes the byte order of
 * every number, and the capability's `dataVersion` (= {@link DIALOG_RECORD_VERSION}) versions it.
 * Input from the network is checked field by field: a bad record decodes to null.
 */
import { DlgState, type DialogEndReason, type DialogLeg, type DialogRecord } from './api.js';
import { Dialog, Leg } from './dialog.js';

/** A dialog as it travels. `fired`: on an end, whether the ending node called onEnded. */
export interface DialogWire extends DialogRecord {
  readonly inviteCseq: number;
  readonly earlyTags: readonly string[] | null;
  readonly fired?: boolean;
}

/** Live packet types of `dialog-dlg-repl`. */
export const T_DLG_UPDATE = 1;
/** The final record (state 5) of a dialog that ended on the sender. */
export const T_DLG_END = 2;

const REASONS = new Set<DialogEndReason>([
  'caller',
  'callee',
  'timeout',
  'ping',
  'mi',
  'failed',
  'cancelled',
]);

/** What a record is encoded from: a held {@link Dialog}, or a record with those two fields. */
export type WireSource = DialogRecord & Pick<DialogWire, 'inviteCseq' | 'earlyTags'>;

/** The wire form of `d` (`fired` only on ends). */
export function encodeDialog(d: WireSource, fired?: boolean): Buffer {
  const w: DialogWire = {
    v: d.v,
    id: d.id,
    callId: d.callId,
    state: d.state,
    caller: d.caller,
    callee: d.callee,
    requestUri: d.requestUri,
    startTime: d.startTime,
    answerTime: d.answerTime,
    endTime: d.endTime,
    timeout: d.timeout,
    status: d.status,
    endedBy: d.endedBy,
    flags: d.flags,
    sharingTag: d.sharingTag,
    profiles: d.profiles,
    vals: d.vals,
    rev: d.rev,
    inviteCseq: d.inviteCseq,
    earlyTags: d.earlyTags,
    ...(fired === undefined ? {} : { fired }),
  };
  return Buffer.from(JSON.stringify(w));
}

/** The record in `buf`, or null when it is not a well-formed dialog. */
export function decodeDialog(buf: Buffer): DialogWire | null {
  let o: unknown;
  try {
    o = JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
  return isWire(o) ? o : null;
}

/** A new dialog object from a received record (not stored, not scheduled). */
export function dialogOf(w: DialogWire): Dialog {
  const d = new Dialog(
    w.id,
    w.callId,
    Leg.of(w.caller),
    Leg.of(w.callee),
    w.requestUri,
    w.startTime,
    w.timeout,
    w.flags,
    w.sharingTag,
  );
  assign(d, w);
  return d;
}

/** Copy a newer record's changeable fields into the held dialog (its tag and profiles aside). */
export function assign(d: Dialog, w: DialogWire): void {
  d.state = w.state;
  copyLeg(d.caller, w.caller);
  copyLeg(d.callee, w.callee);
  d.answerTime = w.answerTime;
  d.endTime = w.endTime;
  d.timeout = w.timeout;
  d.status = w.status;
  d.endedBy = w.endedBy;
  d.flags = w.flags;
  d.vals = { ...w.vals };
  d.rev = w.rev;
  d.inviteCseq = w.inviteCseq;
  d.earlyTags = w.earlyTags === null ? null : [...w.earlyTags];
}

function copyLeg(l: Leg, w: DialogLeg): void {
  l.tag = w.tag;
  l.uri = w.uri;
  l.contact = w.contact;
  l.routeSet = w.routeSet;
  l.cseq = w.cseq;
  l.socket = w.socket;
  l.source = w.source;
  l.sent = w.sent;
}

const str = (x: unknown): x is string => typeof x === 'string';
const strOrNull = (x: unknown): x is string | null => x === null || typeof x === 'string';
const int = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
const intOrNull = (x: unknown): x is number | null => x === null || int(x);
const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every(str);

function isLeg(x: unknown): x is DialogLeg {
  if (typeof x !== 'object' || x === null) {
    return false;
  }
  const l = x as Record<string, unknown>;
  return (
    strOrNull(l['tag']) &&
    str(l['uri']) &&
    str(l['contact']) &&
    strings(l['routeSet']) &&
    int(l['cseq']) &&
    int(l['sent']) &&
    strOrNull(l['socket']) &&
    strOrNull(l['source'])
  );
}

function isWire(x: unknown): x is DialogWire {
  if (typeof x !== 'object' || x === null) {
    return false;
  }
  const w = x as Record<string, unknown>;
  const state = w['state'];
  const endedBy = w['endedBy'];
  const vals = w['vals'];
  return (
    w['v'] === 1 &&
    str(w['id']) &&
    w['id'] !== '' &&
    str(w['callId']) &&
    int(state) &&
    state >= DlgState.UNCONFIRMED &&
    state <= DlgState.DELETED &&
    isLeg(w['caller']) &&
    isLeg(w['callee']) &&
    str(w['requestUri']) &&
    int(w['startTime']) &&
    intOrNull(w['answerTime']) &&
    intOrNull(w['endTime']) &&
    int(w['timeout']) &&
    int(w['status']) &&
    (endedBy === null || REASONS.has(endedBy as DialogEndReason)) &&
    str(w['flags']) &&
    str(w['sharingTag']) &&
    strings(w['profiles']) &&
    typeof vals === 'object' &&
    vals !== null &&
    !Array.isArray(vals) &&
    Object.values(vals).every(str) &&
    int(w['rev']) &&
    int(w['inviteCseq']) &&
    (w['earlyTags'] === null || strings(w['earlyTags'])) &&
    (w['fired'] === undefined || typeof w['fired'] === 'boolean')
  );
}
