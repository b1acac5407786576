/**
 * acc: call detail records (OpenSIPS acc's CDR mode) on top of the dialog module.
 *
 * `do_accounting('cdr')` marks the current dialog with the dialog value `acc=cdr` (so the mark
 * replicates with the dialog). When a marked dialog ends, the node whose sharing tag owns it
 * builds exactly one CDR and queues it; the flush job writes the queue to the sink (a JSON-lines
 * file or a Redis stream). Nothing on the SIP path waits for a sink. See README.md.
 */
import {
  defineModule,
  fieldCounter,
  MI_CODES,
  MiError,
  type Logger,
  type ModuleHost,
  type ScriptContext,
} from '../../src/module/index.js';
import type { DialogApi, DialogRecord } from '../dialog/api.js';
import { buildCdr, CDR_FIELDS, RecentIds, type Cdr } from './cdr.js';
import { accParams, type AccParams } from './params.js';
import { FileSink } from './sinks/file.js';
import { CdrQueue } from './sinks/queue.js';
import { RedisSink } from './sinks/redis.js';
import type { CdrSink } from './sinks/types.js';

declare module '../../src/script/functions.js' {
  interface ScriptFunctions {
    /**
     * Mark the current dialog (after `create_dialog()`) for a CDR when it ends. `flags`:
     * `|`-separated, `missed` (the default: failed and cancelled calls get a missed-call
     * record) or `answered` (answered calls only). False when there is no dialog, or for an
     * unsupported type or flag.
     */
    do_accounting(type: 'cdr', flags?: string): boolean;
  }
}

/** The dialog value that marks a dialog for a CDR, and the one that skips its missed call. */
export const ACC_VAL = 'acc';
export const ACC_MISSED_VAL = 'acc_missed';
export const CDR_EVENT = 'E_ACC_CDR';

/** The counters kept as fields (statistics through fieldCounter). */
interface Counters {
  skipped: number;
  duplicates: number;
}

export default () => {
  const counters: Counters = { skipped: 0, duplicates: 0 };
  let queue: CdrQueue | null = null;
  let dialogs: DialogApi | null = null;
  let closed = false;

  const doAccounting = (ctx: ScriptContext, type: string, flags = ''): boolean => {
    if (type !== 'cdr') {
      ctx.log.debug({ type }, 'do_accounting: unsupported type (only "cdr")');
      return false;
    }
    let missed = '1';
    for (const flag of flags.split('|')) {
      const f = flag.trim();
      if (f === 'answered') {
        missed = '0';
      } else if (f !== '' && f !== 'missed' && f !== 'cdr') {
        ctx.log.debug({ flag: f }, 'do_accounting: unsupported flag');
        return false;
      }
    }
    const d = dialogs?.current(ctx) ?? null;
    if (d === null) {
      ctx.log.debug('do_accounting: no dialog (call create_dialog() first)');
      return false;
    }
    return dialogs!.setVal(d.id, ACC_VAL, 'cdr') && dialogs!.setVal(d.id, ACC_MISSED_VAL, missed);
  };

  const manifest = defineModule({
    name: 'acc',
    description: 'call detail records of dialogs, to a JSON-lines file or a Redis stream',
    params: accParams,
    depends: ['dialog'],
    script: { do_accounting: doAccounting },
    mi: [
      {
        name: 'cdr_flush',
        description: 'writes the queued CDRs to the sink now (ignoring a retry back-off)',
        handler: async () => {
          const q = queue;
          if (q === null) {
            throw new MiError(MI_CODES.SERVER_ERROR, 'acc is not running');
          }
          try {
            await q.flush();
          } catch (err) {
            throw new MiError(
              MI_CODES.SERVER_ERROR,
              'Failed to write CDRs',
              (err as Error).message,
            );
          }
          return { written: q.stats.written, queued: q.queued };
        },
      },
    ],
    stats: {
      cdrs: fieldCounter(() => queue?.stats ?? null, 'written', 'CDRs written to the sink'),
      missed_calls: fieldCounter(
        () => queue?.stats ?? null,
        'missed',
        'missed-call CDRs written (no answer: failed or cancelled)',
      ),
      skipped: fieldCounter(
        counters,
        'skipped',
        'marked dialogs ended whose sharing tag is not active here (the owner writes the CDR)',
      ),
      duplicates: fieldCounter(
        counters,
        'duplicates',
        'second ends of a dialog that already has a CDR (not written again)',
      ),
      sink_errors: fieldCounter(
        () => queue?.stats ?? null,
        'errors',
        'failed sink writes (the CDRs stay queued and are retried)',
      ),
      dropped: fieldCounter(
        () => queue?.stats ?? null,
        'dropped',
        'CDRs dropped because the queue was full',
      ),
      queued: {
        kind: 'gauge',
        description: 'CDRs waiting to be written',
        read: () => queue?.queued ?? 0,
      },
    },
    events: {
      [CDR_EVENT]: {
        description: 'a CDR was produced (raised when queued, before the sink writes it)',
        params: CDR_FIELDS,
      },
    },
    jobs: {
      flush: { description: 'writes queued CDRs to the sink', shtag: false },
    },
    init(host: ModuleHost<AccParams>) {
      const p = host.params;
      const api = host.api<DialogApi | undefined>('dialog');
      if (api === undefined || typeof api.onEnded !== 'function') {
        throw new Error('the dialog module offers no API to bind');
      }
      dialogs = api;
      const q = new CdrQueue({
        sink: makeSink(host, p),
        limit: p.max_queue,
        batch: p.batch,
        intervalMs: p.flush_interval,
        now: () => host.clock.now(),
        logger: host.logger,
      });
      queue = q;
      const recent = new RecentIds(p.recent_ids);
      const ended = (d: DialogRecord): void => {
        if (d.vals[ACC_VAL] !== 'cdr' || closed) {
          return;
        }
        if (!host.sharingTags.isActive(d.sharingTag)) {
          counters.skipped++;
          return;
        }
        if (!recent.add(d.id)) {
          counters.duplicates++;
          host.logger.debug({ dialog: d.id }, 'acc: a second end of a dialog; no second CDR');
          return;
        }
        const cdr = buildCdr(d, p.node_id, host.wallTime());
        if (cdr.missed && d.vals[ACC_MISSED_VAL] === '0') {
          return;
        }
        q.push(cdr);
        if (host.events.hasSubscribers(CDR_EVENT)) {
          host.raise(CDR_EVENT, { ...cdr });
        }
      };
      api.onEnded((d) => {
        // Called inside the dialog module's processing: nothing may escape into it.
        try {
          ended(d);
        } catch (err) {
          logFailure(host.logger, d, err);
        }
      });
      host.every('flush', p.flush_interval, () => q.tick());
    },
    async destroy() {
      closed = true;
      await queue?.close();
    },
  });
  return manifest;
};

function makeSink(host: ModuleHost<AccParams>, p: AccParams): CdrSink {
  if (p.sink === 'redis') {
    return new RedisSink({
      url: p.redis_url,
      stream: p.redis_stream,
      maxlen: p.redis_maxlen,
      now: () => host.clock.now(),
      logger: host.logger,
    });
  }
  return new FileSink({
    dir: host.dataDir,
    fileName: p.file_name,
    rotateSize: p.rotate_size,
    rotateDaily: p.rotate_daily,
    fsync: p.fsync,
    now: () => host.wallTime(),
    logger: host.logger,
  });
}

function logFailure(logger: Logger, d: DialogRecord, err: unknown): void {
  logger.error({ err, dialog: d.id }, 'acc: building the CDR of an ended dialog failed');
}

export type { Cdr };
