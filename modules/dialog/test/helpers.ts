/**
 * An in-process dialog module behind a real script runner and proxy core (fake transactions,
 * fake clock and wall time), with a recording SIP originator whose answers the test chooses.
 */
import { silentLogger } from '../../../src/core/logger.js';
import { JsonRpcEngine } from '../../../src/mi/jsonrpc.js';
import {
  installModules,
  type ClusterApi,
  type MiValue,
  type SharingTags,
  type SipOriginator,
  type UacRequest,
  type UacResult,
} from '../../../src/module/index.js';
import { ScriptRunner } from '../../../src/script/runner.js';
import type { Routes } from '../../../src/script/routes.js';
import { registries } from '../../../test/helpers/module-registries.js';
import { harness, type Harness } from '../../../test/helpers/proxy-fakes.js';
import type { DialogApi, DialogRecord } from '../api.js';
import dialog from '../index.js';

export const T0 = 1_800_000_000_000;

/** Records originated requests; each resolves with `answer(r)` (default 200). */
export class RecordingSip implements SipOriginator {
  readonly sent: UacRequest[] = [];
  answer: (r: UacRequest) => number = () => 200;

  request(r: UacRequest): Promise<UacResult> {
    this.sent.push(r);
    return Promise.resolve({ status: this.answer(r), response: null });
  }

  sendRaw(): void {
    throw new Error('not used');
  }
}

export interface DialogRig {
  h: Harness;
  api: DialogApi;
  sip: RecordingSip;
  ended: DialogRecord[];
  events: { name: string; params: unknown }[];
  wall: { now: number };
  /** Advance the fake clock and the wall time together. */
  advance(ms: number): void;
  call(method: string, params?: MiValue): Promise<{ result?: unknown; error?: { code: number } }>;
  stat(name: string): number;
  destroy(): Promise<void>;
}

export async function rig(
  routes: Routes,
  params: Record<string, unknown> = {},
  active = true,
): Promise<DialogRig> {
  return node(routes, { params, sharingTags: { isActive: () => active } });
}

/** Where a node of a test stands: its tags, its cluster, a wall clock shared with others. */
export interface NodeOptions {
  params?: Record<string, unknown>;
  sharingTags: SharingTags;
  cluster?: ClusterApi | null;
  wall?: { now: number };
}

/** One node: the dialog module and a probe module recording onEnded and state events. */
export async function node(routes: Routes, o: NodeOptions): Promise<DialogRig> {
  const h = harness();
  const sip = new RecordingSip();
  const wall = o.wall ?? { now: T0 };
  const r = registries({
    params: {
      dialog: { profiles_no_value: 'calls', profiles_with_value: 'caller', ...o.params },
    },
    clock: h.clock,
    wallTime: () => wall.now,
    sip,
    sharingTags: o.sharingTags,
    cluster: o.cluster ?? null,
  });
  const events: { name: string; params: unknown }[] = [];
  const ended: DialogRecord[] = [];
  let api: DialogApi | null = null;
  const installed = await installModules(
    [
      dialog(),
      {
        name: 'probe',
        description: 'reads the dialog API as acc does',
        depends: ['dialog'],
        init: (host) => {
          api = host.api<DialogApi>('dialog');
          api.onEnded((d) => ended.push(d));
          host.events.subscribe('E_DLG_STATE_CHANGED', (e) => {
            events.push({ name: e.event, params: e.params });
          });
        },
      },
    ],
    r,
  );
  const runner = new ScriptRunner(h.core, h.self, silentLogger);
  runner.setFunctions(installed.scriptFunctions, installed.names, installed.looseRouteHooks);
  runner.install(routes);
  const engine = new JsonRpcEngine({ registry: r.commands, logger: silentLogger });
  return {
    h,
    api: api!,
    sip,
    ended,
    events,
    wall,
    advance(ms) {
      wall.now += ms;
      h.clock.advance(ms);
    },
    async call(method, p) {
      const body: Record<string, MiValue> = { jsonrpc: '2.0', method, id: 1 };
      if (p !== undefined) {
        body['params'] = p;
      }
      return (await engine.handle(body, [])) as { result?: unknown; error?: { code: number } };
    },
    stat(name) {
      return r.stats.value(`dialog:${name}`) ?? NaN;
    },
    destroy: () => installed.destroy(),
  };
}
