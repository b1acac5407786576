/**
 * The dialog module's contract: the dialog record (a plain, serialisable object with a version
 * and a revision, as the cluster issues replicate it) and the API other modules (acc for CDRs)
 * bind with `host.api<DialogApi>('dialog')`.
 */
import type { ScriptContext } from '../../src/module/index.js';

/** Bumped on every incompatible change of {@link DialogRecord}; one line per bump below. */
// 1: first version.
export const DIALOG_RECORD_VERSION = 1;

/**
 * Dialog states with OpenSIPS's numbering (MI `dlg_list` shows the number): 1 unconfirmed (no
 * reply with a To tag yet), 2 early (a provisional with a To tag), 3 confirmed by a 2xx but not
 * yet ACKed, 4 confirmed (ACK seen), 5 deleted (ended or failed).
 */
export const DlgState = {
  UNCONFIRMED: 1,
  EARLY: 2,
  CONFIRMED_NA: 3,
  CONFIRMED: 4,
  DELETED: 5,
} as const;
export type DlgStateValue = (typeof DlgState)[keyof typeof DlgState];

/** What ended a dialog (the CDR's `ended_by`). */
export type DialogEndReason =
  | 'caller' // BYE from the caller
  | 'callee' // BYE from the callee
  | 'timeout' // the dialog outlived its timeout (BYE sent to both sides by us)
  | 'ping' // an in-dialog OPTIONS ping went unanswered (BYE sent to both sides by us)
  | 'mi' // dlg_end_dlg / profile_end_dlgs
  | 'failed' // the INVITE got a final non-2xx (missed call)
  | 'cancelled'; // the caller cancelled (487)

/** One side of a dialog as the proxy sees it (RFC 3261 §12: what it needs to send to that side). */
export interface DialogLeg {
  /** The side's tag: the caller's From tag; the callee's To tag (null until a reply has one). */
  readonly tag: string | null;
  /** The side's URI (From URI for the caller, To URI for the callee). */
  readonly uri: string;
  /** Its remote target: the Contact URI of its INVITE/2xx (updated by target refreshes). */
  readonly contact: string;
  /** Route set from this proxy towards the side, top first (our own entries excluded). */
  readonly routeSet: readonly string[];
  /** Highest CSeq number seen in requests from this side (0: none yet). */
  readonly cseq: number;
  /**
   * Requests this proxy originated towards this side (in-dialog pings): the side's view of the
   * other's CSeq is ahead by this much, so requests forwarded to it have their CSeq raised by it
   * and the responses lowered back (RFC 3261 §12.2.2: a lower CSeq would be refused with 500).
   */
  readonly sent: number;
  /** Our listen socket (id) facing the side. */
  readonly socket: string | null;
  /** Where the side's messages came from: `proto:ip:port` (the CDR's caller/callee address). */
  readonly source: string | null;
}

/** A dialog record (the unit the cluster issues replicate). */
export interface DialogRecord {
  readonly v: typeof DIALOG_RECORD_VERSION;
  /** Dialog id, unique across the cluster; our Record-Route carries it as `did`. */
  readonly id: string;
  readonly callId: string;
  readonly state: DlgStateValue;
  readonly caller: DialogLeg;
  readonly callee: DialogLeg;
  /** The Request-URI of the initial INVITE. */
  readonly requestUri: string;
  /** Wall-clock ms: INVITE received, 2xx forwarded, dialog ended (null while not). */
  readonly startTime: number;
  readonly answerTime: number | null;
  readonly endTime: number | null;
  /** Dialog lifetime in seconds, counted from the answer (OpenSIPS `$DLG_timeout`). */
  readonly timeout: number;
  /** The final status of the initial INVITE (0 while none). */
  readonly status: number;
  readonly endedBy: DialogEndReason | null;
  /** create_dialog flags: B bye-on-timeout, P ping caller, p ping callee. */
  readonly flags: string;
  /** Sharing tag that owns the dialog (`name/cluster_id`); a module default, never null. */
  readonly sharingTag: string;
  /** Profiles the dialog belongs to: `name` or `name/value`. */
  readonly profiles: readonly string[];
  /** Dialog values (OpenSIPS `$dlg_val`), replicated with the dialog (acc marks `acc`). */
  readonly vals: Readonly<Record<string, string>>;
  /** Revision: higher is newer; a copy is applied only if newer than the held one. */
  readonly rev: number;
}

/** The dialog module's API. */
export interface DialogApi {
  /** The dialog of the request being routed (created or matched), or null. */
  current(ctx: ScriptContext): DialogRecord | null;
  get(id: string): DialogRecord | null;
  /** Set a dialog value (replicated with the dialog). False when the dialog is unknown. */
  setVal(id: string, name: string, value: string): boolean;
  /**
   * Called once per dialog cluster-wide when it reaches state 5 (ended after a 2xx, or failed
   * or cancelled before one), with the final record: endTime, endedBy and status set. It is
   * called on the node where the dialog's sharing tag is active when the end becomes known
   * there: the ending node when active, else the active node receiving the replicated end.
   */
  onEnded(listener: (d: DialogRecord) => void): void;
  /** Dialogs held now (every state but deleted). */
  all(): IterableIterator<DialogRecord>;
}

/** Parameters of E_DLG_STATE_CHANGED (OpenSIPS names). */
export const DLG_STATE_EVENT = 'E_DLG_STATE_CHANGED';
