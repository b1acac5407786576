/**
 * usrloc's parameters (`modules.usrloc` in the configuration), names following OpenSIPS where it
 * has one (`db_mode`, `timer_interval`).
 */
import { z } from 'zod';

export const usrlocParams = z.strictObject({
  /** Where bindings persist: `file` (embedded append-only file), `redis`, or `none` (memory). */
  db_mode: z.enum(['none', 'file', 'redis']).default('file'),
  /** How often queued writes are written (ms): `kill -9` loses at most this much. */
  flush_interval: z.number().int().min(10).max(60_000).default(1000),
  /** How often the file is rewritten without its dead lines (s). */
  compact_interval: z.number().int().min(1).default(300),
  /** fdatasync the file after each flush (survives a power cut too). */
  fsync: z.boolean().default(true),
  /** Period of the expiry job (s). */
  timer_interval: z.number().int().min(1).max(3600).default(10),
  redis_url: z.string().min(1).default('redis://127.0.0.1:6379'),
  redis_prefix: z.string().default('tandem:ul:'),
  /** Send a Redis pipeline as soon as this many writes wait. */
  redis_batch: z.number().int().min(1).default(1000),
  /** Bound of the write queue (distinct bindings waiting); past it writes are dropped and counted. */
  max_queue: z.number().int().min(1).default(1_000_000),
  /** How long a deletion is remembered against older writes (s). */
  tombstone_ttl: z.number().int().min(1).default(3600),
  /**
   * `single-instance`: this node's table only; `full-sharing-cluster`: every write replicates
   * to every node of `location_cluster` and a starting node pulls the table from a donor
   * (capability `usrloc-contact-repl`). Needs a `clusterer` section.
   */
  working_mode_preset: z
    .enum(['single-instance', 'full-sharing-cluster'])
    .default('single-instance'),
  /** The cluster bindings replicate in (OpenSIPS `location_cluster`). */
  location_cluster: z.number().int().min(1).default(1),
  /**
   * Which node pings a binding (nathelper): `ownership` the node where its owner tag is active,
   * `cooperation` the synced node its AoR hashes to (OpenSIPS `pinging_mode`).
   */
  pinging_mode: z.enum(['ownership', 'cooperation']).default('ownership'),
  /**
   * Owner tag of bindings saved without one. Null: none on a single instance, and
   * `service/<location_cluster>` in a cluster (every replicated binding has an owner).
   */
  sharing_tag: z.string().min(1).nullable().default(null),
  /**
   * Seconds a tag may be held active by no reachable node before the backups remove the expired
   * bindings it owns themselves (memory stays bounded while nobody owns them).
   */
  purge_grace: z.number().int().min(0).default(60),
});

export type UsrlocParams = z.infer<typeof usrlocParams>;
