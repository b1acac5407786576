/**
 * The embedded store: an append-only file `contacts.aof` under the module's data directory, no
 * external service. One line per operation after a header line carrying the format version:
 *
 *     {"format":"tandem-usrloc-aof","version":1}
 *     P\t<the ContactRecord as JSON>
 *     D\t["<aor>","<key>",<rev>]
 *
 * Writes are queued and appended by `flush()` (every `flush_interval`), so `kill -9` loses at
 * most the writes of the last interval; `close()` flushes everything. Loading applies the lines
 * through the store's apply-if-newer path, so replaying an old line after a newer one is
 * harmless; a line that cannot be read (the torn tail a crash leaves) is skipped and counted.
 * Compaction writes the live records and tombstones to a new file, appends what was flushed
 * meanwhile, fsyncs it and renames it over the old one, so a crash at any point leaves one
 * complete file.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { endsWithNewline, fileSize, syncDir, type Logger } from '../../../src/module/index.js';
import { decodeRecord } from '../record.js';
import {
  newStats,
  WriteQueue,
  type LoadReport,
  type LoadSink,
  type Persistence,
  type Snapshot,
  type WriteOp,
} from './types.js';

/** The format of the file; bump it (with a reader for the old one) when lines change. */
export const AOF_VERSION = 1;
const FORMAT = 'tandem-usrloc-aof';
const HEADER = `${JSON.stringify({ format: FORMAT, version: AOF_VERSION })}\n`;
/** Lines per write while compacting: big writes, yet the event loop gets a turn in between. */
const CHUNK = 5_000;

export interface AofOptions {
  /** Directory of the file (created if missing). */
  readonly dir: string;
  /** fdatasync after each flush (survives a power cut, not only a process crash). */
  readonly fsync: boolean;
  /** Bound of the write queue. */
  readonly queueLimit: number;
  readonly logger: Logger;
}

export class AofPersistence implements Persistence {
  readonly stats = newStats();
  /** Lines skipped at load, compactions done, and bytes appended since the last one. */
  readonly fileStats = { skipped: 0, compactions: 0, appended: 0 };
  readonly path: string;
  private readonly queue: WriteQueue;
  private handle: FileHandle | null = null;
  /** File operations run one after the other on this chain. */
  private chain: Promise<void> = Promise.resolve();
  /** While a compaction runs: what flushes appended meanwhile, for the new file. */
  private tail: string[] | null = null;
  private compacting: Promise<void> | null = null;

  constructor(private readonly opts: AofOptions) {
    this.path = join(opts.dir, 'contacts.aof');
    this.queue = new WriteQueue(opts.queueLimit, this.stats);
  }

  async load(sink: LoadSink): Promise<LoadReport> {
    await mkdir(this.opts.dir, { recursive: true });
    let report: LoadReport = { records: 0, deletes: 0, skipped: 0 };
    const size = await fileSize(this.path);
    if (size === null) {
      await this.create(this.path);
    } else {
      report = await this.read(sink);
    }
    this.handle = await open(this.path, 'a+');
    if (size !== null && size > 0 && !(await endsWithNewline(this.handle, size))) {
      // A torn last line: end it, or the next append would be glued to it and lost too.
      await this.handle.write('\n');
    }
    this.fileStats.skipped += report.skipped;
    return report;
  }

  write(op: WriteOp): void {
    if (op.op !== 'aor-del') {
      this.queue.push(op);
    }
  }

  flush(): Promise<void> {
    return this.serial(() => this.append());
  }

  compact(snapshot: Snapshot): Promise<void> {
    if (this.compacting !== null) {
      return this.compacting;
    }
    if (this.fileStats.appended === 0 && this.queue.size === 0) {
      return Promise.resolve();
    }
    this.compacting = this.rewrite(snapshot).finally(() => {
      this.compacting = null;
    });
    return this.compacting;
  }

  async close(): Promise<void> {
    await this.compacting;
    await this.flush();
    await this.serial(async () => {
      await this.handle?.close();
      this.handle = null;
    });
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async append(): Promise<void> {
    const ops = this.queue.take();
    if (ops.length === 0 || this.handle === null) {
      this.queue.restore(ops);
      return;
    }
    // In chunks: one string of a million records would near V8's maximum string length.
    const chunks: string[] = [];
    for (let i = 0; i < ops.length; i += CHUNK) {
      chunks.push(
        ops
          .slice(i, i + CHUNK)
          .map(encode)
          .join(''),
      );
    }
    let bytes = 0;
    try {
      for (const text of chunks) {
        await this.handle.write(text);
        bytes += text.length;
      }
      if (this.opts.fsync) {
        await this.handle.datasync();
      }
    } catch (err) {
      this.stats.errors++;
      // Lines already written are harmless to write again (apply-if-newer at load).
      this.queue.restore(ops);
      this.opts.logger.error({ err, path: this.path }, 'usrloc: appending to the file failed');
      throw err;
    }
    this.stats.written += ops.length;
    this.fileStats.appended += bytes;
    this.tail?.push(...chunks);
  }

  private async rewrite(snapshot: Snapshot): Promise<void> {
    // Records are immutable (the store replaces them), so these references are a consistent
    // snapshot even while writes go on during the chunked write below.
    const lines: string[] = [];
    for (const rec of snapshot.records()) {
      lines.push(`P\t${JSON.stringify(rec)}\n`);
    }
    for (const t of snapshot.tombstones()) {
      lines.push(`D\t${JSON.stringify(t)}\n`);
    }
    const tmp = `${this.path}.tmp`;
    this.tail = [];
    let out: FileHandle | null = null;
    try {
      out = await open(tmp, 'w');
      await out.write(HEADER);
      for (let i = 0; i < lines.length; i += CHUNK) {
        await out.write(lines.slice(i, i + CHUNK).join(''));
      }
      lines.length = 0;
      const fresh = out;
      await this.serial(async () => {
        await fresh.write((this.tail ?? []).join(''));
        await fresh.sync();
        await fresh.close();
        await rename(tmp, this.path);
        await syncDir(this.opts.dir);
        await this.handle?.close();
        this.handle = await open(this.path, 'a');
      });
      out = null;
      this.fileStats.compactions++;
      this.fileStats.appended = 0;
    } catch (err) {
      this.stats.errors++;
      this.opts.logger.error({ err, path: this.path }, 'usrloc: compaction failed');
      await out?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    } finally {
      this.tail = null;
    }
  }

  private async create(path: string): Promise<void> {
    // Header through a renamed temporary file: a crash cannot leave a half-written header.
    const tmp = `${path}.tmp`;
    const h = await open(tmp, 'w');
    await h.write(HEADER);
    await h.sync();
    await h.close();
    await rename(tmp, path);
    await syncDir(this.opts.dir);
  }

  private async read(sink: LoadSink): Promise<LoadReport> {
    const lines = createInterface({
      input: createReadStream(this.path, { encoding: 'utf8' }),
      crlfDelay: Infinity,
    });
    let first = true;
    let records = 0;
    let deletes = 0;
    let skipped = 0;
    for await (const line of lines) {
      if (first) {
        first = false;
        checkHeader(line, this.path);
        continue;
      }
      if (line.length === 0) {
        continue;
      }
      const r = decodeLine(line);
      if (typeof r === 'string') {
        skipped++;
        this.opts.logger.debug({ path: this.path, reason: r }, 'usrloc: unreadable line skipped');
      } else if (r.op === 'put') {
        records++;
        sink.record(r.rec);
      } else if (r.op === 'del') {
        deletes++;
        sink.delete(r.aor, r.key, r.rev);
      }
    }
    if (skipped > 0) {
      this.opts.logger.warn({ path: this.path, skipped }, 'usrloc: unreadable lines skipped');
    }
    return { records, deletes, skipped };
  }
}

function encode(op: WriteOp): string {
  switch (op.op) {
    case 'put':
      return `P\t${JSON.stringify(op.rec)}\n`;
    case 'del':
      return `D\t${JSON.stringify([op.aor, op.key, op.rev])}\n`;
    case 'aor-del':
      return '';
  }
}

function decodeLine(line: string): WriteOp | string {
  const body = line.slice(2);
  if (line.startsWith('P\t')) {
    const rec = decodeRecord(body);
    return typeof rec === 'string' ? rec : { op: 'put', rec };
  }
  if (line.startsWith('D\t')) {
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch {
      return 'not JSON';
    }
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      typeof v[2] === 'number'
    ) {
      return { op: 'del', aor: v[0], key: v[1], rev: v[2] };
    }
    return 'bad deletion';
  }
  return 'unknown line type';
}

function checkHeader(line: string, path: string): void {
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    h = null;
  }
  const o = (typeof h === 'object' && h !== null ? h : {}) as Record<string, unknown>;
  if (o['format'] !== FORMAT) {
    throw new Error(`${path} is not a usrloc file (no ${FORMAT} header)`);
  }
  if (o['version'] !== AOF_VERSION) {
    throw new Error(
      `${path} has format version ${String(o['version'])}; this build reads version ${AOF_VERSION}`,
    );
  }
}
