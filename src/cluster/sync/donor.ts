/**
 * The donor's side of a full transfer: run the capability's `donate`, pack the records it emits
 * into CHUNKs of about 64 KiB on the bulk lane, wait for the network's back-pressure before the
 * next chunk, then send END with the record count and the SHA-256 over the records in order
 * (each as its u32 length followed by its bytes). At most one chunk is being filled and one
 * being written, so a donor of millions of records holds a few hundred KiB of them.
 */
import { createHash } from 'node:crypto';
import { CoreError } from '../../core/errors.js';
import type { CapabilitySync, SyncContext } from '../../module/define-module.js';
import type { Lane, SendResult } from '../types.js';
import { CHUNK_HEADER, SyncType, encodeEnd, writeChunkHeader } from './codec.js';

/** Bytes of records a chunk carries before it is sent. */
export const CHUNK_TARGET = 64 * 1024;
/** The largest record `emit` takes (the contract says under 1 MiB). */
export const MAX_RECORD = 1024 * 1024;

/** Sends one `clusterer:sync` packet to the receiver. */
export type DonorSend = (
  type: number,
  payload: Buffer,
  lane: Lane,
) => SendResult | Promise<SendResult>;

/** One transfer this node serves. */
export class Donation {
  /** Why the transfer was stopped from outside (receiver gone, ABORT, stop), or null. */
  stopped: string | null = null;
  records = 0;
  private chunk = Buffer.allocUnsafe(CHUNK_HEADER + CHUNK_TARGET);
  private at = CHUNK_HEADER;
  private index = 0;
  private inflight: Promise<void> = Promise.resolve();
  private readonly hash = createHash('sha256');

  constructor(
    readonly syncId: number,
    readonly receiver: number,
    private readonly send: DonorSend,
    /** Called for each record emitted (the capability's `records_sent`). */
    private readonly counted: () => void,
  ) {}

  /** Stop the transfer: the next `emit` rejects. */
  stop(reason: string): void {
    this.stopped ??= reason;
  }

  /** Run `donate` to the end and send END; rejects when it fails or is stopped. */
  async run(sync: CapabilitySync, ctx: SyncContext): Promise<void> {
    await sync.donate(ctx, (record) => this.emit(record));
    if (this.at > CHUNK_HEADER) {
      await this.flush();
    }
    await this.inflight;
    this.check();
    const end = encodeEnd({ syncId: this.syncId, count: this.records, digest: this.hash.digest() });
    const r = await this.send(SyncType.END, end, 'bulk');
    if (r !== 'queued') {
      throw new CoreError('TANDEM_ERR_SEND', `receiver ${this.receiver}: ${r}`);
    }
  }

  private emit(record: Buffer): void | Promise<void> {
    if (this.stopped !== null) {
      return Promise.reject(new CoreError('TANDEM_ERR_INVALID_STATE', this.stopped));
    }
    if (record.length >= MAX_RECORD) {
      return Promise.reject(
        new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `a record of ${record.length} bytes`),
      );
    }
    if (this.at > CHUNK_HEADER && this.at + 4 + record.length > this.chunk.length) {
      // The record does not fit: send what is held, then start the next chunk with it.
      return this.flush().then(() => {
        this.append(record);
        return this.full() ? this.flush() : undefined;
      });
    }
    this.append(record);
    return this.full() ? this.flush() : undefined;
  }

  private append(record: Buffer): void {
    const need = 4 + record.length;
    if (this.at + need > this.chunk.length) {
      // Only an empty chunk gets here: a record bigger than a chunk travels alone.
      this.chunk = Buffer.allocUnsafe(CHUNK_HEADER + need);
    }
    const start = this.at;
    this.chunk.writeUInt32BE(record.length, start);
    record.copy(this.chunk, start + 4);
    this.at += need;
    this.records++;
    this.counted();
  }

  private full(): boolean {
    return this.at >= CHUNK_HEADER + CHUNK_TARGET - 64;
  }

  /** Send the chunk being filled, after the one before it was written (order kept). */
  private flush(): Promise<void> {
    writeChunkHeader(this.chunk, this.syncId, this.index++);
    const out = this.chunk.subarray(0, this.at);
    // The digest covers the records in order, each as its length and bytes: the chunks'
    // record parts one after the other.
    this.hash.update(out.subarray(CHUNK_HEADER));
    this.chunk = Buffer.allocUnsafe(CHUNK_HEADER + CHUNK_TARGET);
    this.at = CHUNK_HEADER;
    const prev = this.inflight;
    const sent = (async () => {
      await prev;
      this.check();
      const r = await this.send(SyncType.CHUNK, out, 'bulk');
      if (r !== 'queued') {
        throw new CoreError('TANDEM_ERR_SEND', `receiver ${this.receiver}: ${r}`);
      }
    })();
    // Kept for the next flush and for `run`; a module that did not await still sees it there.
    this.inflight = sent;
    sent.catch(() => undefined);
    return sent;
  }

  private check(): void {
    if (this.stopped !== null) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', this.stopped);
    }
  }
}
