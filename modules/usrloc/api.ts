/**
 * The location service as other modules use it (registrar, nathelper, later the cluster's
 * replication): the record types and the API that `usrloc`'s init returns. Records are plain
 * serializable objects with a revision (docs/adr: "plain records with a revision,
 * apply-if-newer"), so the same record travels to the persistent store, to Redis and, with the
 * cluster issues, to the other node.
 */

/** Format version of {@link ContactRecord}; bump it with a note when a field changes. */
export const CONTACT_RECORD_VERSION = 1;

/**
 * The per-request variable (`ctx.vars`) where nathelper's `fix_nated_register()` leaves the
 * received URI (`sip:ip:port;transport=x`) for the registrar's `save()` (OpenSIPS's
 * `received_avp`).
 */
export const RECEIVED_VAR = 'usrloc:received';

/** Contact flags (bits of {@link ContactRecord.flags}). */
export const ContactFlags = {
  /** The UA is behind NAT: reach it at `received`, ping it (nathelper). */
  NAT: 1,
  /** Keep-alive pings were sent and not answered yet. */
  PING_PENDING: 2,
} as const;

/** One registered binding of an AoR (RFC 3261 §10.3). */
export interface ContactRecord {
  /** Record format version ({@link CONTACT_RECORD_VERSION}). */
  readonly v: number;
  /** The AoR it belongs to, canonical (see `canonicalAor` in the registrar). */
  readonly aor: string;
  /** The Contact URI as registered. */
  readonly uri: string;
  /**
   * Where the REGISTER really came from when that differs from the Contact (NAT): a SIP URI
   * `sip:ip:port;transport=x` used as the destination for requests to this contact, or null.
   */
  readonly received: string | null;
  /** Source of the REGISTER that made or refreshed the binding. */
  readonly sourceAddress: string;
  readonly sourcePort: number;
  /** Transport of that REGISTER (`udp`, `tcp`, `tls`, `ws`, `wss`). */
  readonly protocol: string;
  /** Id of the listen socket it arrived on (requests to the contact leave from it). */
  readonly socket: string | null;
  /** Path header values of the REGISTER, top first (RFC 3327), used as the route set. */
  readonly path: readonly string[];
  /** Absolute expiry, wall-clock ms since the epoch. */
  readonly expires: number;
  /** q-value, 0 to 1 (RFC 3261 §20.10); the registrar's `default_q` when the UA gave none. */
  readonly q: number;
  readonly callId: string;
  readonly cseq: number;
  readonly userAgent: string | null;
  /** `+sip.instance` (RFC 5626 §4.1 / RFC 5627), as written with its quotes removed. */
  readonly instance: string | null;
  /** `reg-id` (RFC 5626 §4.2). */
  readonly regId: number | null;
  /** {@link ContactFlags} bits. */
  readonly flags: number;
  /** Methods the contact accepts (its `methods` parameter, RFC 3840), or null for any. */
  readonly methods: readonly string[] | null;
  /** Wall-clock ms of the last change. */
  readonly lastModified: number;
  /** Sharing tag that owns the binding (jobs act on it only where the tag is active); null: none. */
  readonly owner: string | null;
  /**
   * Revision: higher is newer; a write is applied only if its revision is higher than the held
   * one (the store assigns it on local writes: wall ms × 1024 + a counter, a hybrid logical clock).
   */
  readonly rev: number;
}

/** What a caller supplies to insert or update a binding: the store fills `v`, `rev`, `lastModified`. */
export type ContactInput = Omit<ContactRecord, 'v' | 'rev' | 'lastModified'>;

/** Why a binding went away (the `reason` of E_UL_CONTACT_DELETE). */
export type RemoveReason =
  | 'expired'
  | 'unregistered'
  | 'replaced'
  | 'mi'
  | 'evicted'
  | 'ping'
  /** Dropped after a cluster sync: the donor no longer had it (deleted while this node was away). */
  | 'sync';

/**
 * The identity of a binding inside its AoR: by `+sip.instance` and `reg-id` when the UA gives
 * an instance (RFC 5626 §6, RFC 5627 §5: one binding per instance and flow), by the Contact URI
 * otherwise (RFC 3261 §10.3 step 7 compares URIs).
 */
export function contactKey(c: Pick<ContactRecord, 'uri' | 'instance' | 'regId'>): string {
  return c.instance === null ? c.uri : `<${c.instance}>;reg-id=${String(c.regId ?? '')}`;
}

/** The location service (usrloc's init returns it; `host.api<UsrlocApi>('usrloc')`). */
export interface UsrlocApi {
  /**
   * The live bindings of an AoR, best first (q descending, then most recently modified). A
   * binding whose expiry has passed is never returned, even before the expiry job removes it.
   */
  lookup(aor: string): readonly ContactRecord[];
  /** One binding of an AoR by {@link contactKey}, live or not yet removed, or null. */
  getContact(aor: string, key: string): ContactRecord | null;
  /** The live bindings whose Contact URI is `uri`, in any AoR (the index by contact). */
  findByContact(uri: string): readonly ContactRecord[];
  /**
   * Insert or update the binding with this key; returns the stored record (with its new
   * revision). Raises E_UL_CONTACT_INSERT or E_UL_CONTACT_UPDATE (and E_UL_AOR_INSERT for a new
   * AoR) and queues the write for the persistent store.
   */
  save(input: ContactInput): ContactRecord;
  /** Remove one binding; false when there was none. Raises E_UL_CONTACT_DELETE (and E_UL_AOR_DELETE). */
  remove(aor: string, key: string, reason: RemoveReason): boolean;
  /** Remove every binding of an AoR; returns how many went. */
  removeAor(aor: string, reason: RemoveReason): number;
  /** Change flags of a binding without a new registration (nathelper's ping state). */
  setFlags(aor: string, key: string, flags: number): ContactRecord | null;
  /** Every live binding, AoR by AoR (for pinging and dumps); do not mutate the store while iterating. */
  all(): IterableIterator<ContactRecord>;
  /**
   * Which bindings this node keep-alive pings, decided once per round (nathelper): those whose
   * owner tag is active here (`pinging_mode: ownership`, and every single instance), or those
   * whose AoR hashes to this node among the synced nodes (`cooperation`).
   */
  pingSelector(): (c: ContactRecord) => boolean;
  /** Number of AoRs and of bindings held. */
  counts(): { aors: number; contacts: number };
  /** Write everything queued to the persistent store now. */
  flush(): Promise<void>;
}
