/** The registrar's parameters (OpenSIPS registrar modparams where one exists). */
import { z } from 'zod';

const seconds = (def: number) => z.number().int().nonnegative().default(def);

export const registrarParams = z.strictObject({
  /** Expires used when neither the Contact nor the request says (OpenSIPS `default_expires`). */
  default_expires: seconds(3600),
  /** Shortest registration accepted; shorter ones get 423 (RFC 3261 §10.3 step 7). */
  min_expires: seconds(60),
  /** Longest registration granted; longer ones are shortened to it. 0: no limit. */
  max_expires: seconds(0),
  /**
   * What a too-brief expiry gets: `reject` answers 423 Interval Too Brief with Min-Expires, as
   * RFC 3261 §10.3 says; `clamp` raises it to min_expires, as OpenSIPS does.
   */
  min_expires_mode: z.enum(['reject', 'clamp']).default('reject'),
  /** q-value of a contact registered without one. */
  default_q: z.number().min(0).max(1).default(1),
  /** Bindings per AoR; a REGISTER going over gets 503 (or evicts, below). 0: no limit. */
  max_contacts: z.number().int().nonnegative().default(0),
  /** Over max_contacts, drop the oldest bindings instead of refusing the new ones. */
  max_contacts_evict: z.boolean().default(false),
  /**
   * RFC 3327 Path handling (OpenSIPS `path` flags): `off` stores Path without echoing it,
   * `lazy` echoes it in the 200 when the UA said `Supported: path`, `strict` also refuses a
   * REGISTER with Path whose UA does not support it (420 Bad Extension).
   */
  path_mode: z.enum(['off', 'lazy', 'strict']).default('lazy'),
  /** Sharing tag that owns the bindings this node saves (the cluster issues set it). */
  sharing_tag: z.string().min(1).nullable().default(null),
});

export type RegistrarParams = z.infer<typeof registrarParams>;
