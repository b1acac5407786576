/**
 * acc's parameters (`modules.acc` in the configuration). Sizes are bytes, intervals ms.
 */
import { hostname } from 'node:os';
import { z } from 'zod';

export const accParams = z.strictObject({
  /** Where CDRs go: an append-only JSON-lines file under the data directory, or a Redis stream. */
  sink: z.enum(['file', 'redis']).default('file'),
  /** The node's name in every CDR (which node wrote it). */
  node_id: z
    .string()
    .min(1)
    .default(() => hostname()),
  /** The CDR file inside the module's data directory (a plain file name, no directory). */
  file_name: z
    .string()
    .regex(/^[^/\\]+$/, 'a file name without a directory')
    .refine((s) => s !== '.' && s !== '..', 'a file name without a directory')
    .default('cdr.jsonl'),
  /** Rotate the file before it would grow past this many bytes (0: no size rotation). */
  rotate_size: z.number().int().min(0).default(0),
  /** Rotate the file when the UTC day changes. */
  rotate_daily: z.boolean().default(true),
  /** fdatasync the file after each flush (a power cut loses no written CDR). */
  fsync: z.boolean().default(true),
  /** How often queued CDRs are written (ms); a clean stop writes the rest. */
  flush_interval: z.number().int().min(10).max(60_000).default(1000),
  /** CDRs per write (one append, or one Redis MULTI/EXEC). */
  batch: z.number().int().min(1).max(100_000).default(1000),
  /** Bound of the queue while the sink is slow or down; past it CDRs are dropped and counted. */
  max_queue: z.number().int().min(1).default(100_000),
  /** Dialog ids remembered against a second CDR for the same dialog. */
  recent_ids: z.number().int().min(1).default(100_000),
  redis_url: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** The stream CDRs are added to (XADD). */
  redis_stream: z.string().min(1).default('tandem:cdr'),
  /** `XADD ... MAXLEN ~ n`: the stream keeps about this many entries (0: untrimmed). */
  redis_maxlen: z.number().int().min(0).default(1_000_000),
});

export type AccParams = z.infer<typeof accParams>;
