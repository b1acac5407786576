/**
 * The file sink (the default): one CDR per line as JSON, appended to `<data_dir>/acc/<file_name>`.
 *
 * Rotation renames the current file to `<stem>.<YYYY-MM-DD>.<n><ext>` (the UTC day its first
 * line was written, `n` the first free sequence number from 1: `cdr.2026-01-01.1.jsonl`) and
 * starts a new one: before a line would take the file past `rotate_size` bytes, and, with
 * `rotate_daily`, at the first write of a new UTC day (a file left by a run on an earlier day
 * counts from its modification time). A file also moved or removed by someone else (logrotate)
 * is noticed at the next write and a new one opened, so nothing is appended to a renamed file.
 *
 * A failed write leaves no partial line: the file is truncated back to its last complete
 * batch when it can be, and the error says how many CDRs of the batch are stored for good.
 */
import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { endsWithNewline, fileSize, syncDir, type Logger } from '../../../src/module/index.js';
import type { Cdr } from '../cdr.js';
import { SinkWriteError, type CdrSink } from './types.js';

export interface FileSinkOptions {
  /** Directory of the file (created when missing). */
  readonly dir: string;
  readonly fileName: string;
  /** Most bytes per file (0: no size rotation); a single line longer than this gets a file alone. */
  readonly rotateSize: number;
  readonly rotateDaily: boolean;
  readonly fsync: boolean;
  /** Wall-clock ms (the day of rotation). */
  readonly now: () => number;
  readonly logger: Logger;
}

export class FileSink implements CdrSink {
  readonly path: string;
  readonly description: string;
  /** Files rotated away, by name, oldest first (this run only). */
  readonly rotated: string[] = [];
  private handle: FileHandle | null = null;
  private ino = -1;
  /** Bytes in the current file. */
  private size = 0;
  /** UTC day (`YYYY-MM-DD`) of the current file's first line. */
  private day = '';
  private readonly stem: string;
  private readonly ext: string;

  constructor(private readonly opts: FileSinkOptions) {
    this.path = join(opts.dir, opts.fileName);
    this.description = `file ${this.path}`;
    this.ext = extname(opts.fileName);
    this.stem = opts.fileName.slice(0, opts.fileName.length - this.ext.length);
  }

  async write(batch: readonly Cdr[]): Promise<void> {
    const lines = batch.map((c) => Buffer.from(`${JSON.stringify(c)}\n`));
    let done = 0;
    try {
      await this.prepare();
      while (done < lines.length) {
        await this.ensureOpen();
        // The lines that fit in the current file; none fit a non-empty full file: rotate.
        let bytes = 0;
        let end = done;
        for (; end < lines.length; end++) {
          const len = lines[end]!.length;
          if (this.opts.rotateSize > 0 && this.size + bytes > 0) {
            if (this.size + bytes + len > this.opts.rotateSize) {
              break;
            }
          }
          bytes += len;
        }
        if (end === done) {
          await this.rotate();
          continue;
        }
        await this.append(Buffer.concat(lines.slice(done, end), bytes));
        done = end;
      }
    } catch (err) {
      throw new SinkWriteError(done, err);
    }
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }

  /** Open the file (again, if someone moved it) and rotate a file of an earlier day. */
  private async prepare(): Promise<void> {
    if (this.handle !== null) {
      const st = await stat(this.path).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          return null;
        }
        throw err;
      });
      if (st?.ino !== this.ino) {
        this.opts.logger.info({ path: this.path }, 'acc: CDR file moved away; opening a new one');
        await this.close();
      }
    }
    await this.ensureOpen();
    if (this.opts.rotateDaily && this.size > 0 && this.day !== utcDay(this.opts.now())) {
      await this.rotate();
      await this.ensureOpen();
    }
  }

  private async ensureOpen(): Promise<void> {
    if (this.handle !== null) {
      return;
    }
    await mkdir(this.opts.dir, { recursive: true });
    const h = await open(this.path, 'a+');
    try {
      const st = await h.stat();
      this.size = st.size;
      this.ino = st.ino;
      this.day = utcDay(st.size > 0 ? st.mtimeMs : this.opts.now());
      if (st.size > 0 && !(await endsWithNewline(h, st.size))) {
        // A torn last line (a crash mid-write): end it, or the next line would be glued to it.
        await h.write('\n');
        this.size++;
      }
    } catch (err) {
      await h.close();
      throw err;
    }
    this.handle = h;
  }

  private async append(data: Buffer): Promise<void> {
    const h = this.handle!;
    if (this.size === 0) {
      this.day = utcDay(this.opts.now());
    }
    let off = 0;
    try {
      while (off < data.length) {
        const { bytesWritten } = await h.write(data, off, data.length - off);
        off += bytesWritten;
      }
      if (this.opts.fsync) {
        await h.datasync();
      }
    } catch (err) {
      if (off > 0) {
        // A retry writes the whole batch again: take back what part of it got in.
        await h.truncate(this.size).catch((e: unknown) => {
          this.opts.logger.error({ err: e, path: this.path }, 'acc: cannot truncate a torn write');
        });
      }
      throw err;
    }
    this.size += data.length;
  }

  private async rotate(): Promise<void> {
    await this.close();
    const target = await this.freeName(this.day);
    await rename(this.path, target);
    await syncDir(this.opts.dir);
    this.rotated.push(target);
    this.size = 0;
    this.opts.logger.info({ path: target }, 'acc: CDR file rotated');
  }

  private async freeName(day: string): Promise<string> {
    for (let n = 1; ; n++) {
      const name = join(this.opts.dir, `${this.stem}.${day}.${String(n)}${this.ext}`);
      if ((await fileSize(name)) === null) {
        return name;
      }
    }
  }
}

/** `YYYY-MM-DD` of a wall-clock time, in UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
