/** The dialog module's parameters (OpenSIPS dialog modparams where one exists). */
import { z } from 'zod';

const seconds = (def: number) => z.number().int().positive().default(def);

/** `"a;b"` (OpenSIPS style) or a list of names. */
const profileNames = z
  .union([z.string(), z.array(z.string().min(1))])
  .default([])
  .transform((v) =>
    (typeof v === 'string' ? v.split(';') : v).map((s) => s.trim()).filter((s) => s !== ''),
  );

export const dialogParams = z.strictObject({
  /** Lifetime of a confirmed dialog, in seconds, unless the script sets one (OpenSIPS 43200). */
  default_timeout: seconds(43200),
  /** Interval of in-dialog OPTIONS pings (create_dialog flags P and p), in seconds. */
  options_ping_interval: seconds(30),
  /**
   * How long a dialog may stay unanswered or early, in seconds. Timer C ends a ringing INVITE
   * long before this; it guards against a script that creates a dialog and never relays.
   */
  early_timeout: seconds(600),
  /** Name of the Record-Route parameter that carries the dialog id (OpenSIPS `rr_param`). */
  rr_param: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_-]*$/)
    .default('did'),
  /**
   * The sharing tag that owns dialogs the script does not tag itself (OpenSIPS
   * `dlg_sharing_tag`): only the node where it is active ends, pings and bills them.
   */
  dlg_sharing_tag: z
    .string()
    .regex(/^[^/\s]+\/\d+$/, 'a sharing tag is name/cluster_id')
    .default('service/1'),
  /**
   * Cluster whose nodes hold copies of every dialog (OpenSIPS `dialog_replication_cluster`,
   * capability `dialog-dlg-repl`); 0: dialogs stay on this node.
   */
  dialog_replication_cluster: z.number().int().nonnegative().default(0),
  /**
   * Cluster whose nodes share their profile counts (OpenSIPS `profile_replication_cluster`,
   * capability `dialog-prof-repl`), so a profile's size is the cluster's; 0: this node's only.
   */
  profile_replication_cluster: z.number().int().nonnegative().default(0),
  /**
   * Seconds an ended dialog is remembered (its final record, a tombstone): no late update can
   * bring it back, and a sync hands it to a node that missed the end. It must outlast the
   * cluster's `sync_timeout` (15 s) plus the transfer, and the split it should heal: a node cut
   * off longer than this keeps a call that ended meanwhile until its own timeout ends it.
   */
  tombstone_ttl: z.number().int().min(30).default(300),
  /** When a node comes up, resync the dialogs of every tag that is backup here. */
  cluster_auto_sync: z.boolean().default(true),
  /** Profiles that count dialogs per value (`set_dlg_profile("caller", $fU)`). */
  profiles_with_value: profileNames,
  /** Profiles that count dialogs without a value (`set_dlg_profile("inbound")`). */
  profiles_no_value: profileNames,
});

export type DialogParams = z.infer<typeof dialogParams>;
