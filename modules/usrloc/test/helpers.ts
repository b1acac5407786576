/** Starting usrloc inside the real module installer, MI registry and JSON-RPC engine. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventBus, RaisedEvent } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/core/logger.js';
import type { StatsRegistry } from '../../../src/core/stats.js';
import { JsonRpcEngine } from '../../../src/mi/jsonrpc.js';
import {
  installModules,
  type ClusterApi,
  type InstalledModules,
  type MiValue,
  type SharingTags,
} from '../../../src/module/index.js';
import { FakeClock } from '../../../test/helpers/fake-clock.js';
import { registries } from '../../../test/helpers/module-registries.js';
import type { ContactInput, UsrlocApi } from '../api.js';
import usrloc from '../index.js';
import type { UsrlocService } from '../usrloc.js';

/** 2026-01-01T00:00:00Z: wall time at fake-clock 0. */
export const EPOCH = 1_767_225_600_000;

export function input(over: Partial<ContactInput> = {}): ContactInput {
  return {
    aor: 'sip:alice@example.com',
    uri: 'sip:alice@192.0.2.10:5060',
    received: null,
    sourceAddress: '192.0.2.10',
    sourcePort: 5060,
    protocol: 'udp',
    socket: 'udp:127.0.0.1:5060',
    path: [],
    expires: EPOCH + 3600_000,
    q: 1,
    callId: 'call-1@192.0.2.10',
    cseq: 1,
    userAgent: 'TestPhone/1.0',
    instance: null,
    regId: null,
    flags: 0,
    methods: null,
    owner: null,
    ...over,
  };
}

export interface Started {
  readonly api: UsrlocApi;
  /** The same object as `api`: usrloc's init returns its service. */
  readonly service: UsrlocService;
  readonly clock: FakeClock;
  readonly stats: StatsRegistry;
  readonly events: RaisedEvent[];
  /** The event bus itself (its counters). */
  readonly bus: EventBus;
  readonly installed: InstalledModules;
  wall(): number;
  call(
    method: string,
    params?: MiValue,
  ): Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }>;
}

export interface StartOptions {
  readonly params?: Record<string, unknown>;
  readonly dataDir?: string;
  readonly clock?: FakeClock;
  readonly sharingTags?: SharingTags;
  /** `host.cluster` (a clusterer's `api()`); default none, a standalone node. */
  readonly cluster?: ClusterApi;
  /** Subscribe to every event (default true); false leaves usrloc's events unheard. */
  readonly subscribe?: boolean;
}

/** Install usrloc (db_mode none unless params say otherwise) on a fake clock. */
export async function start(o: StartOptions = {}): Promise<Started> {
  const clock = o.clock ?? new FakeClock(0);
  const wall = (): number => EPOCH + clock.now();
  const r = registries({
    clock,
    wallTime: wall,
    params: { usrloc: { db_mode: 'none', ...o.params } },
    ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
    ...(o.sharingTags !== undefined ? { sharingTags: o.sharingTags } : {}),
    ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
  });
  const { stats, events, commands: registry } = r;
  const seen: RaisedEvent[] = [];
  let api: UsrlocApi | undefined;
  const installed = await installModules(
    [
      usrloc(),
      {
        name: 'probe',
        description: 'binds the usrloc API as the registrar would',
        depends: ['usrloc'],
        init(h) {
          api = h.api<UsrlocApi>('usrloc');
          if (o.subscribe !== false) {
            h.events.subscribe('*', (e) => {
              seen.push(e);
            });
          }
        },
      },
    ],
    r,
  );
  const engine = new JsonRpcEngine({ registry, logger: silentLogger });
  return {
    api: api!,
    service: api as UsrlocService,
    clock,
    stats,
    events: seen,
    bus: events,
    installed,
    wall,
    async call(method, params) {
      const body: Record<string, MiValue> = { jsonrpc: '2.0', method, id: 1 };
      if (params !== undefined) {
        body['params'] = params;
      }
      return (await engine.handle(body, [])) as {
        result?: unknown;
        error?: { code: number; message: string; data?: unknown };
      };
    },
  };
}

/** A fresh temporary directory, removed at teardown. */
export async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-usrloc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
