/**
 * The CDR (call detail record): one flat object per ended dialog, built from the dialog's final
 * record. Times are ISO 8601 in UTC with milliseconds (one representation, readable in the file
 * and sortable as text); durations are integer milliseconds. The shape is versioned by `v`.
 */
import type { DialogEndReason, DialogRecord } from '../dialog/api.js';

/** Bumped on every incompatible change of {@link Cdr}; one line per bump below. */
// 1: first version.
export const CDR_VERSION = 1;

/** One call detail record, as written to the sinks and raised as E_ACC_CDR. */
export interface Cdr {
  readonly v: typeof CDR_VERSION;
  readonly dialog_id: string;
  readonly call_id: string;
  readonly from_uri: string;
  /** The caller's From tag. */
  readonly from_tag: string | null;
  readonly to_uri: string;
  /** The callee's To tag (null when no reply carried one). */
  readonly to_tag: string | null;
  /** The Request-URI of the initial INVITE (the number dialled). */
  readonly request_uri: string;
  /** Where the caller's and callee's messages came from: `proto:ip:port`. */
  readonly caller: string | null;
  readonly callee: string | null;
  /** INVITE received. */
  readonly setup_time: string;
  /** 2xx forwarded; null for a missed call. */
  readonly answer_time: string | null;
  /** Dialog ended (BYE, timeout, failure, cancel). */
  readonly end_time: string;
  /** end - answer; 0 for a missed call. */
  readonly duration_ms: number;
  /** answer - setup; for a missed call, until the final failure or the cancel. */
  readonly setup_ms: number;
  readonly ended_by: DialogEndReason | null;
  /** Final status of the initial INVITE (200, 486, 487...). */
  readonly sip_status: number;
  /** No answer: a final status of 300 or more, or cancelled. */
  readonly missed: boolean;
  /** The node that wrote the record. */
  readonly node_id: string;
}

/** Field names in record order (the E_ACC_CDR parameters and the stream entry's fields). */
export const CDR_FIELDS = [
  'v',
  'dialog_id',
  'call_id',
  'from_uri',
  'from_tag',
  'to_uri',
  'to_tag',
  'request_uri',
  'caller',
  'callee',
  'setup_time',
  'answer_time',
  'end_time',
  'duration_ms',
  'setup_ms',
  'ended_by',
  'sip_status',
  'missed',
  'node_id',
] as const satisfies readonly (keyof Cdr)[];

/** Is the dialog's call a missed one (never answered)? */
export function isMissed(d: DialogRecord): boolean {
  return (
    d.answerTime === null || d.status >= 300 || d.endedBy === 'failed' || d.endedBy === 'cancelled'
  );
}

/**
 * Build the CDR of an ended dialog. `now` stands in for an end time the record lacks (the
 * dialog contract sets it, but a CDR must never fail to be built).
 */
export function buildCdr(d: DialogRecord, nodeId: string, now: number): Cdr {
  const missed = isMissed(d);
  const end = d.endTime ?? now;
  const answer = missed ? null : d.answerTime;
  return {
    v: CDR_VERSION,
    dialog_id: d.id,
    call_id: d.callId,
    from_uri: d.caller.uri,
    from_tag: d.caller.tag,
    to_uri: d.callee.uri,
    to_tag: d.callee.tag,
    request_uri: d.requestUri,
    caller: d.caller.source,
    callee: d.callee.source,
    setup_time: iso(d.startTime),
    answer_time: answer === null ? null : iso(answer),
    end_time: iso(end),
    duration_ms: answer === null ? 0 : Math.max(0, end - answer),
    setup_ms: Math.max(0, (answer ?? end) - d.startTime),
    ended_by: d.endedBy,
    sip_status: d.status,
    missed,
    node_id: nodeId,
  };
}

/**
 * ISO 8601 with milliseconds. At a thousand calls a second most times fall in a few recent
 * seconds: their `YYYY-MM-DDTHH:MM:SS.` prefix is kept (four seconds, round robin), so a time
 * costs a lookup and a concatenation instead of a Date.
 */
const prefixSec = [NaN, NaN, NaN, NaN];
const prefixText = ['', '', '', ''];
let prefixNext = 0;

export function iso(ms: number): string {
  const sec = Math.floor(ms / 1000);
  let i = prefixSec.indexOf(sec);
  if (i < 0) {
    i = prefixNext;
    prefixNext = (prefixNext + 1) & 3;
    prefixSec[i] = sec;
    prefixText[i] = new Date(sec * 1000).toISOString().slice(0, 20);
  }
  const milli = ms - sec * 1000;
  return `${prefixText[i]!}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${String(milli)}Z`;
}

/**
 * A CDR as a Redis stream entry's field/value list, in record order: numbers in decimal,
 * booleans `true`/`false`, null as an empty string, so every entry has the same fields.
 */
export function cdrFieldValues(c: Cdr): string[] {
  const out: string[] = [];
  for (const f of CDR_FIELDS) {
    const v = c[f];
    out.push(f, v === null ? '' : String(v));
  }
  return out;
}

/**
 * The dialog ids of the last `limit` CDRs, against writing a second CDR for one dialog (the
 * dialog module promises one end per dialog; a replayed or replicated end must not bill twice).
 * Bounded: the oldest id is forgotten first.
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  // Insertion order in a ring: evicting through the Set's own iterator would be O(n) per add,
  // as V8 iterators walk past the deleted entries at the front until the table is rebuilt.
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(private readonly limit: number) {
    this.ring = new Array<string | undefined>(limit);
  }

  get size(): number {
    return this.ids.size;
  }

  /** Remember `id`; false when it is already remembered. */
  add(id: string): boolean {
    if (this.ids.has(id)) {
      return false;
    }
    const oldest = this.ring[this.next];
    if (oldest !== undefined) {
      this.ids.delete(oldest);
    }
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.limit;
    this.ids.add(id);
    return true;
  }
}
