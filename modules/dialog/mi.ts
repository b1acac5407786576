/**
 * The dialog module's MI commands with OpenSIPS's names and answer shapes: `dlg_list`,
 * `dlg_list_ctx`, `dlg_end_dlg`, `profile_get_size`, `profile_list_dlgs`, `profile_get_values`,
 * `profile_end_dlgs` (also reached as `dialog:list` and so on).
 */
import {
  MI_CODES,
  MiError,
  type MiCommandDefinition,
  type MiParamSpec,
  type MiParams,
  type MiValue,
} from '../../src/module/index.js';
import type { DialogLeg } from './api.js';
import type { Dialog } from './dialog.js';
import { Profiles } from './profiles.js';
import type { DialogService } from './service.js';

const CALLID: MiParamSpec = { name: 'callid', type: 'string' };
const FROM_TAG: MiParamSpec = { name: 'from_tag', type: 'string' };
const PROFILE: MiParamSpec = { name: 'profile', type: 'string' };
const VALUE: MiParamSpec = { name: 'value', type: 'string' };
const LIST_RECIPES = [{ params: [] }, { params: [CALLID] }, { params: [CALLID, FROM_TAG] }];

export function dialogCommands(live: () => DialogService): MiCommandDefinition[] {
  return [
    {
      name: 'list',
      aliases: ['dlg_list'],
      description: 'prints the dialogs held, or those of a Call-ID (and From tag)',
      recipes: LIST_RECIPES,
      handler: (p) => ({ Dialogs: select(live(), p).map((d) => describe(d, false)) }),
    },
    {
      name: 'list_ctx',
      aliases: ['dlg_list_ctx'],
      description: "like dlg_list, with each dialog's values and profiles",
      recipes: LIST_RECIPES,
      handler: (p) => ({ Dialogs: select(live(), p).map((d) => describe(d, true)) }),
    },
    {
      name: 'end_dlg',
      aliases: ['dlg_end_dlg'],
      description: 'ends a dialog: BYE to both sides when confirmed, CANCEL (487) while early',
      recipes: [{ params: [{ name: 'dialog_id', type: 'string' }] }],
      handler: (p) => {
        const d = live().store.get(p.string('dialog_id'));
        if (d === undefined) {
          throw new MiError(MI_CODES.NOT_FOUND, 'Dialog not found');
        }
        if (!live().terminate(d, 'mi')) {
          throw new MiError(MI_CODES.SERVER_ERROR, 'Failed to terminate dialog');
        }
        return 'OK';
      },
    },
    {
      name: 'cluster_sync',
      aliases: ['dlg_cluster_sync'],
      description: 'pulls every dialog (or those of one sharing tag) again from a cluster node',
      recipes: [{ params: [] }, { params: [{ name: 'sharing_tag', type: 'string' }] }],
      handler: (p) => {
        const repl = live().repl;
        if (repl === null) {
          throw new MiError(MI_CODES.BAD_REQUEST, 'Dialog replication disabled');
        }
        const tag = p.has('sharing_tag') ? p.string('sharing_tag') : null;
        if (!repl.requestSync(tag)) {
          throw new MiError(MI_CODES.SERVER_ERROR, 'Failed to send sync request');
        }
        return 'OK';
      },
    },
    {
      name: 'profile_get_size',
      aliases: ['profile_get_size'],
      description: 'number of dialogs in a profile (with a value: those with that value)',
      recipes: [{ params: [PROFILE] }, { params: [PROFILE, VALUE] }],
      handler: (p) => {
        const name = profileName(live(), p);
        const value = p.has('value') ? p.string('value') : undefined;
        const count = live().profiles.size(name, value);
        return { profile: { name, value: value ?? null, count } };
      },
    },
    {
      name: 'profile_list_dlgs',
      aliases: ['profile_list_dlgs'],
      description: 'the dialogs in a profile (with a value: those with that value)',
      recipes: [{ params: [PROFILE] }, { params: [PROFILE, VALUE] }],
      handler: (p) => ({
        Dialogs: inProfile(live(), p).map((d) => describe(d, false)),
      }),
    },
    {
      name: 'profile_get_values',
      aliases: ['profile_get_values'],
      description: 'the values of a profile with the number of dialogs for each',
      recipes: [{ params: [PROFILE] }],
      handler: (p) => {
        const name = profileName(live(), p);
        return { Values: live().profiles.values(name) ?? [] };
      },
    },
    {
      name: 'profile_end_dlgs',
      aliases: ['profile_end_dlgs'],
      description: 'ends every dialog in a profile (with a value: those with that value)',
      recipes: [{ params: [PROFILE] }, { params: [PROFILE, VALUE] }],
      handler: (p) => {
        const svc = live();
        let ended = 0;
        for (const d of inProfile(svc, p)) {
          if (svc.terminate(d, 'mi')) {
            ended++;
          }
        }
        return { ended };
      },
    },
  ];
}

function select(svc: DialogService, p: MiParams): Dialog[] {
  if (!p.has('callid')) {
    return [...svc.store.values()];
  }
  const fromTag = p.has('from_tag') ? p.string('from_tag') : undefined;
  const found = svc.store.byCall(p.string('callid'), fromTag);
  if (found.length === 0) {
    throw new MiError(MI_CODES.NOT_FOUND, 'No such dialog');
  }
  return found;
}

function profileName(svc: DialogService, p: MiParams): string {
  const name = p.string('profile');
  const kind = svc.profiles.kind(name);
  if (kind === null) {
    throw new MiError(MI_CODES.NOT_FOUND, 'Profile not found');
  }
  if (kind === 'plain' && p.has('value')) {
    throw new MiError(MI_CODES.BAD_REQUEST, 'Profile takes no value');
  }
  return name;
}

function inProfile(svc: DialogService, p: MiParams): Dialog[] {
  const name = profileName(svc, p);
  const value = p.has('value') ? p.string('value') : undefined;
  return [...svc.store.values()].filter((d) =>
    d.profiles.some((entry) => Profiles.matches(entry, name, value)),
  );
}

/** One side's fields, `caller_*` or `callee_*`. */
function legFields(side: 'caller' | 'callee', l: DialogLeg): Record<string, MiValue> {
  return {
    [`${side}_tag`]: l.tag ?? '',
    [`${side}_contact`]: l.contact,
    [`${side}_cseq`]: String(l.cseq),
    [`${side}_route_set`]: l.routeSet.join(','),
    [`${side}_bind_addr`]: l.socket ?? '',
    [`${side}_source`]: l.source ?? '',
  };
}

/** One dialog as OpenSIPS's dlg_list prints it (times in seconds since the epoch). */
function describe(d: Dialog, ctx: boolean): Record<string, MiValue> {
  const out: Record<string, MiValue> = {
    ID: d.id,
    state: d.state,
    user_flags: d.flags,
    timestart: Math.floor((d.answerTime ?? d.startTime) / 1000),
    datestart: new Date(d.answerTime ?? d.startTime).toISOString(),
    timeout: d.due === 0 ? 0 : d.due,
    callid: d.callId,
    from_uri: d.caller.uri,
    to_uri: d.callee.uri,
    sharing_tag: d.sharingTag,
    ...legFields('caller', d.caller),
    ...legFields('callee', d.callee),
  };
  if (ctx) {
    out['context'] = {
      values: Object.entries(d.vals).map(([name, value]) => ({ [name]: value })),
      profiles: d.profiles.map((entry) => {
        const slash = entry.indexOf('/');
        return slash < 0 ? { [entry]: '' } : { [entry.slice(0, slash)]: entry.slice(slash + 1) };
      }),
    };
  }
  return out;
}
