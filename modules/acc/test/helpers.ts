/**
 * acc inside the real module installer, with a fake dialog module (a manifest named `dialog`
 * whose API the test drives: which dialog is current, and when one ends) on a fake clock.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventBus, RaisedEvent } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { StatsRegistry } from '../../../src/core/stats.js';
import { JsonRpcEngine } from '../../../src/mi/jsonrpc.js';
import {
  defineModule,
  installModules,
  type InstalledModules,
  type MiValue,
  type ScriptContext,
  type SharingTags,
} from '../../../src/module/index.js';
import { FakeClock } from '../../../test/helpers/fake-clock.js';
import { registries } from '../../../test/helpers/module-registries.js';
import {
  DIALOG_RECORD_VERSION,
  DlgState,
  type DialogApi,
  type DialogLeg,
  type DialogRecord,
} from '../../dialog/api.js';
import acc from '../index.js';

/** 2026-01-01T00:00:00Z: wall time at fake-clock 0. */
export const EPOCH = 1_767_225_600_000;

// `sent` comes with the dialog module's uncommitted api.ts (DialogLeg grows while it is written).
const leg = (over: Partial<DialogLeg>): DialogLeg => ({
  tag: null,
  uri: '',
  contact: '',
  routeSet: [],
  cseq: 0,
  sent: 0,
  socket: 'udp:10.0.0.1:5060',
  source: null,
  ...over,
});

/** A dialog as create_dialog() leaves it on an initial INVITE. */
export function dialog(id: string, over: Partial<DialogRecord> = {}): DialogRecord {
  return {
    v: DIALOG_RECORD_VERSION,
    id,
    callId: `call-${id}@192.0.2.10`,
    state: DlgState.UNCONFIRMED,
    caller: leg({
      tag: `ftag-${id}`,
      uri: 'sip:alice@example.com',
      contact: 'sip:alice@192.0.2.10:5060',
      cseq: 1,
      source: 'udp:192.0.2.10:5060',
    }),
    callee: leg({ uri: 'sip:bob@example.com' }),
    requestUri: 'sip:bob@example.com',
    startTime: EPOCH,
    answerTime: null,
    endTime: null,
    timeout: 43200,
    status: 0,
    endedBy: null,
    flags: '',
    sharingTag: 'vip/1',
    profiles: [],
    vals: {},
    rev: 1,
    ...over,
  };
}

/** The dialog module's API as the test controls it. */
export class FakeDialogs implements DialogApi {
  readonly held = new Map<string, DialogRecord>();
  currentId: string | null = null;
  private readonly listeners: ((d: DialogRecord) => void)[] = [];

  add(d: DialogRecord): DialogRecord {
    this.held.set(d.id, d);
    this.currentId = d.id;
    return d;
  }

  current(): DialogRecord | null {
    return this.currentId === null ? null : (this.held.get(this.currentId) ?? null);
  }

  get(id: string): DialogRecord | null {
    return this.held.get(id) ?? null;
  }

  setVal(id: string, name: string, value: string): boolean {
    const d = this.held.get(id);
    if (d === undefined) {
      return false;
    }
    this.held.set(id, { ...d, vals: { ...d.vals, [name]: value }, rev: d.rev + 1 });
    return true;
  }

  onEnded(listener: (d: DialogRecord) => void): void {
    this.listeners.push(listener);
  }

  all(): IterableIterator<DialogRecord> {
    return this.held.values();
  }

  /** End a held dialog (or replay an end: `d` given) and tell the listeners. */
  end(id: string, over: Partial<DialogRecord>, d = this.held.get(id)): DialogRecord {
    if (d === undefined) {
      throw new Error(`no dialog ${id}`);
    }
    const final: DialogRecord = { ...d, state: DlgState.DELETED, rev: d.rev + 1, ...over };
    this.held.delete(id);
    for (const l of this.listeners) {
      l(final);
    }
    return final;
  }

  /** An answered call: answered `answerAfter` ms after `startTime`, ended `talk` ms later. */
  call(id: string, answerAfter: number, talk: number, endedBy: 'caller' | 'callee' = 'caller') {
    const d = this.held.get(id)!;
    return this.end(id, {
      status: 200,
      answerTime: d.startTime + answerAfter,
      endTime: d.startTime + answerAfter + talk,
      endedBy,
      callee: { ...d.callee, tag: `ttag-${id}`, source: 'udp:198.51.100.7:5060' },
    });
  }
}

export interface Started {
  readonly dialogs: FakeDialogs;
  readonly clock: FakeClock;
  readonly stats: StatsRegistry;
  readonly events: RaisedEvent[];
  readonly bus: EventBus;
  readonly installed: InstalledModules;
  readonly dataDir: string;
  /** The module's own directory (`<dataDir>/acc`). */
  readonly dir: string;
  /** Call the script function `do_accounting` with a minimal context. */
  doAccounting(type: string, flags?: string): boolean;
  call(method: string, params?: MiValue): Promise<{ result?: unknown; error?: unknown }>;
  /** Advance the fake clock and wait until `done()` or 5 s of real time. */
  advanceUntil(ms: number, done: () => boolean | Promise<boolean>): Promise<void>;
}

export interface StartOptions {
  readonly params?: Record<string, unknown>;
  readonly dataDir: string;
  readonly clock?: FakeClock;
  readonly sharingTags?: SharingTags;
  /** Subscribe to every event (default true). */
  readonly subscribe?: boolean;
}

const CTX = { log: silentLogger } as unknown as ScriptContext;

export async function start(o: StartOptions): Promise<Started> {
  const clock = o.clock ?? new FakeClock(0);
  const dialogs = new FakeDialogs();
  const r = registries({
    clock,
    wallTime: () => EPOCH + clock.now(),
    params: { acc: { node_id: 'node-a', ...o.params } },
    dataDir: o.dataDir,
    ...(o.sharingTags !== undefined ? { sharingTags: o.sharingTags } : {}),
  });
  const events: RaisedEvent[] = [];
  const fake = defineModule({ name: 'dialog', description: 'fake', init: () => dialogs });
  const installed = await installModules([acc(), fake], r);
  if (o.subscribe !== false) {
    r.events.subscribe('*', (e) => {
      events.push(e);
    });
  }
  const engine = new JsonRpcEngine({ registry: r.commands, logger: silentLogger });
  const fn = installed.scriptFunctions.get('do_accounting')!.impl as (
    ctx: ScriptContext,
    type: string,
    flags?: string,
  ) => boolean;
  return {
    dialogs,
    clock,
    stats: r.stats,
    events,
    bus: r.events,
    installed,
    dataDir: o.dataDir,
    dir: join(o.dataDir, 'acc'),
    doAccounting: (type, flags) => fn(CTX, type, flags),
    async call(method, params) {
      const body: Record<string, MiValue> = { jsonrpc: '2.0', method, id: 1 };
      if (params !== undefined) {
        body['params'] = params;
      }
      return (await engine.handle(body, [])) as { result?: unknown; error?: unknown };
    },
    async advanceUntil(ms, done) {
      clock.advance(ms);
      await until(done);
    },
  };
}

/** Poll `done` until true (5 s at most, then the test's assertion says what is missing). */
export async function until(done: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done()) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The CDR lines of a file (parsed). */
export async function cdrLines(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Files of a directory, sorted. */
export async function files(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** A fresh temporary directory, removed at teardown. */
export async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-acc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
