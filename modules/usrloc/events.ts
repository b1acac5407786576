/**
 * The events usrloc raises (OpenSIPS's E_UL_* names) and the parameters each carries. Contact
 * events carry the OpenSIPS parameter names (`address` is the Contact URI, `qval`, `bflags`,
 * `expires` as a Unix time in seconds) plus Tandem's own fields.
 */
import type { EventDefinition, EventParams } from '../../src/module/index.js';
import type { ContactRecord, RemoveReason } from './api.js';

const CONTACT_PARAMS = [
  'aor',
  'address',
  'uri',
  'received',
  'path',
  'qval',
  'socket',
  'bflags',
  'expires',
  'callid',
  'cseq',
  'user_agent',
  'instance',
  'reg_id',
  'shtag',
] as const;

export const USRLOC_EVENTS = {
  E_UL_AOR_INSERT: { description: 'an AoR got its first binding', params: ['aor'] },
  E_UL_AOR_DELETE: { description: 'an AoR lost its last binding', params: ['aor'] },
  E_UL_CONTACT_INSERT: { description: 'a binding was added', params: CONTACT_PARAMS },
  E_UL_CONTACT_UPDATE: {
    description: 'a binding was refreshed or changed',
    params: CONTACT_PARAMS,
  },
  E_UL_CONTACT_DELETE: {
    description: 'a binding was removed (reason: expired, unregistered, replaced, mi, ...)',
    params: [...CONTACT_PARAMS, 'reason'],
  },
} as const satisfies Record<string, EventDefinition>;

/** The parameters of a contact event. */
export function contactParams(c: ContactRecord, reason?: RemoveReason): EventParams {
  return {
    aor: c.aor,
    address: c.uri,
    uri: c.uri,
    received: c.received ?? '',
    path: c.path.join(','),
    qval: c.q,
    socket: c.socket ?? '',
    bflags: c.flags,
    expires: Math.floor(c.expires / 1000),
    callid: c.callId,
    cseq: c.cseq,
    user_agent: c.userAgent ?? '',
    instance: c.instance ?? '',
    reg_id: c.regId ?? '',
    shtag: c.owner ?? '',
    ...(reason !== undefined ? { reason } : {}),
  };
}
