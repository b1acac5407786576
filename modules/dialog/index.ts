/**
 * dialog: the dialog-stateful proxy (OpenSIPS dialog). Tracks every call the script creates a
 * dialog for, from INVITE to BYE; ends calls past their timeout and calls whose in-dialog pings
 * go unanswered, with a BYE to both sides; counts calls in profiles; lists and ends calls over
 * MI; raises E_DLG_STATE_CHANGED; offers {@link DialogApi} to acc (CDRs). See README.md.
 */
import {
  defineModule,
  fieldCounter,
  type ModuleHost,
  type ScriptContext,
} from '../../src/module/index.js';
import { DLG_STATE_EVENT, type DialogApi } from './api.js';
import type { Dialog } from './dialog.js';
import { dialogCommands } from './mi.js';
import { dialogParams, type DialogParams } from './params.js';
import { DialogService } from './service.js';
import type { DialogCounters } from './tracker.js';

declare module '../../src/script/functions.js' {
  interface ScriptFunctions {
    /**
     * Track this initial INVITE as a dialog (and record-route it, with the dialog id in our
     * Record-Route). Flags: `B` BYE both sides on timeout, `P` ping the caller, `p` ping the
     * callee with in-dialog OPTIONS. False for a request that is not an initial INVITE.
     */
    create_dialog(flags?: string): boolean;
    /** Match a sequential request to its dialog when loose_route() did not (no did in Route). */
    match_dialog(): boolean;
    /** Lifetime of the current dialog in seconds, counted from its answer ($DLG_timeout). */
    set_dlg_timeout(seconds: number): boolean;
    /** Sharing tag owning the current dialog (the node where it is active acts on it). */
    set_dlg_sharing_tag(tag: string): boolean;
    /** Put the current dialog into a profile (with a value for profiles_with_value ones). */
    set_dlg_profile(profile: string, value?: string): boolean;
    /** Is the current dialog in the profile (with that value)? */
    is_in_profile(profile: string, value?: string): boolean;
    /** Dialogs in the profile now (with that value); -1 for an unknown profile. */
    get_profile_size(profile: string, value?: string): number;
    /** Keep a value with the dialog ($dlg_val); it is replicated with it. */
    store_dlg_value(name: string, value: string): boolean;
    /** A value kept with the current dialog, or null. */
    fetch_dlg_value(name: string): string | null;
  }
}

const TAG = /^[^/\s]+\/\d+$/;

export default () => {
  let svc: DialogService | null = null;
  const counters: DialogCounters = {
    processed_dialogs: 0,
    expired_dialogs: 0,
    failed_dialogs: 0,
    unmatched: 0,
  };
  const live = (): DialogService => {
    if (svc === null) {
      throw new Error('dialog is not initialised');
    }
    return svc;
  };
  /** The dialog of the request; script functions that need one log when there is none. */
  const current = (ctx: ScriptContext, fn: string): Dialog | null => {
    const d = live().current(ctx);
    if (d === null) {
      ctx.log.debug({ fn }, 'no dialog for this request (create_dialog or match_dialog first)');
    }
    return d;
  };

  return defineModule({
    name: 'dialog',
    description: 'dialog-stateful proxy: call tracking, timeouts, pings, profiles',
    params: dialogParams,
    script: {
      create_dialog: (ctx: ScriptContext, flags?: string) =>
        live().tracker.create(ctx, flags ?? ''),
      match_dialog: (ctx: ScriptContext) => live().match(ctx),
      set_dlg_timeout: (ctx: ScriptContext, seconds: number) => {
        const d = current(ctx, 'set_dlg_timeout');
        if (d === null || !Number.isInteger(seconds) || seconds <= 0) {
          return false;
        }
        live().setTimeout(d, seconds);
        return true;
      },
      set_dlg_sharing_tag: (ctx: ScriptContext, tag: string) => {
        const d = current(ctx, 'set_dlg_sharing_tag');
        if (d === null || !TAG.test(tag)) {
          return false;
        }
        live().setSharingTag(d, tag);
        return true;
      },
      set_dlg_profile: (ctx: ScriptContext, profile: string, value?: string) => {
        const d = current(ctx, 'set_dlg_profile');
        if (d === null) {
          return false;
        }
        const ok = live().profiles.add(d, profile, value);
        if (ok) {
          live().touch(d);
        } else {
          ctx.log.warn({ profile }, 'set_dlg_profile: unknown profile, or value use mismatch');
        }
        return ok;
      },
      is_in_profile: (ctx: ScriptContext, profile: string, value?: string) => {
        const d = current(ctx, 'is_in_profile');
        return d !== null && live().profiles.isIn(d, profile, value);
      },
      get_profile_size: (_ctx: ScriptContext, profile: string, value?: string) =>
        live().profiles.size(profile, value),
      store_dlg_value: (ctx: ScriptContext, name: string, value: string) => {
        const d = current(ctx, 'store_dlg_value');
        return d !== null && live().setVal(d.id, name, value);
      },
      fetch_dlg_value: (ctx: ScriptContext, name: string) =>
        current(ctx, 'fetch_dlg_value')?.vals[name] ?? null,
    },
    looseRoute: (ctx) => {
      live().looseRouted(ctx);
    },
    mi: dialogCommands(live),
    stats: {
      active_dialogs: {
        kind: 'gauge',
        description: 'answered dialogs (states 3 and 4)',
        read: () => svc?.store.counts().active ?? 0,
      },
      early_dialogs: {
        kind: 'gauge',
        description: 'dialogs not answered yet (states 1 and 2)',
        read: () => svc?.store.counts().early ?? 0,
      },
      processed_dialogs: fieldCounter(counters, 'processed_dialogs', 'dialogs created'),
      expired_dialogs: fieldCounter(counters, 'expired_dialogs', 'dialogs ended by timeout'),
      failed_dialogs: fieldCounter(counters, 'failed_dialogs', 'dialogs whose INVITE failed'),
      repl_sent: fieldCounter(
        () => svc?.repl?.counters ?? null,
        'sent',
        'dialog replication packets sent (changes and ends)',
      ),
      repl_received: fieldCounter(
        () => svc?.repl?.counters ?? null,
        'received',
        'dialog replication packets received',
      ),
      repl_stale: fieldCounter(
        () => svc?.repl?.counters ?? null,
        'stale',
        'replicated dialog records not applied: not newer than the held copy, or already ended',
      ),
      repl_bad: fieldCounter(
        () => svc?.repl?.counters ?? null,
        'bad',
        'malformed dialog replication packets or sync records dropped',
      ),
      sync_tombstones: fieldCounter(
        () => svc?.repl?.counters ?? null,
        'tombstones',
        'ended dialogs a sync handed over that ended a held copy or were new here',
      ),
      unmatched_requests: fieldCounter(
        counters,
        'unmatched',
        'sequential requests naming a dialog not held',
      ),
    },
    events: {
      [DLG_STATE_EVENT]: {
        description: 'a dialog changed state (1-5)',
        params: ['id', 'callid', 'from_tag', 'to_tag', 'old_state', 'new_state'],
      },
    },
    jobs: {
      timeout: { description: 'ends dialogs past their timeout', shtag: true },
      ping: { description: 'in-dialog OPTIONS pings (create_dialog flags P/p)', shtag: true },
      profile_share: {
        description: "sends this node's profile counts to the cluster (profile replication)",
        shtag: false,
      },
    },
    init(host: ModuleHost<DialogParams>): DialogApi {
      svc = new DialogService(host, counters);
      svc.start();
      return svc;
    },
    destroy() {
      svc?.stop();
      svc = null;
    },
  });
};
