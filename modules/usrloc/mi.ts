/**
 * usrloc's MI commands, with OpenSIPS's names, parameters and answer shapes: `ul_dump [brief]`,
 * `ul_show_contact`, `ul_rm`, `ul_rm_contact`, `ul_add`, `ul_flush`, `ul_cluster_sync` (reached as `usrloc:dump`
 * and so on). OpenSIPS's commands take a `table_name` first (`location`); Tandem has the one
 * table, so the recipes without it are the short form and those with it accept `location` only.
 */
import {
  MI_CODES,
  MiError,
  type MiCommandDefinition,
  type MiParamSpec,
  type MiParams,
  type MiValue,
} from '../../src/module/index.js';
import { contactKey, type ContactInput, type ContactRecord } from './api.js';

/** The one table, as OpenSIPS names its default usrloc domain. */
export const TABLE = 'location';

/** What the commands need from the module. */
export interface MiDeps {
  readonly lookup: (aor: string) => readonly ContactRecord[];
  readonly held: (aor: string) => readonly ContactRecord[];
  readonly aors: () => Iterable<string>;
  readonly save: (input: ContactInput) => ContactRecord;
  readonly remove: (aor: string, key: string) => boolean;
  readonly removeAor: (aor: string) => number;
  readonly flush: () => Promise<void>;
  readonly wallTime: () => number;
  /** Ask the cluster for a full transfer: null when not clustered, false when refused. */
  readonly clusterSync: () => boolean | null;
}

const TABLE_NAME: MiParamSpec = { name: 'table_name', type: 'string' };
const AOR: MiParamSpec = { name: 'aor', type: 'string' };
const CONTACT: MiParamSpec = { name: 'contact', type: 'string' };
const EXPIRES: MiParamSpec = { name: 'expires', type: 'integer' };

export function usrlocCommands(d: MiDeps): MiCommandDefinition[] {
  return [
    {
      name: 'dump',
      aliases: ['ul_dump'],
      description: 'prints every AoR with its bindings; "brief" prints only contacts and expiry',
      recipes: [{ params: [] }, { params: [{ name: 'brief', type: 'string' }] }],
      handler: (p) => dump(d, p.has('brief')),
    },
    {
      name: 'show_contact',
      aliases: ['ul_show_contact'],
      description: 'prints the live bindings of an AoR',
      recipes: [{ params: [AOR] }, { params: [TABLE_NAME, AOR] }],
      handler: (p) => {
        const aor = target(p);
        const live = d.lookup(aor);
        if (live.length === 0) {
          throw new MiError(MI_CODES.NOT_FOUND, 'AOR not found');
        }
        return { Contacts: live.map((c) => contact(c, d.wallTime(), false)) };
      },
    },
    {
      name: 'rm',
      aliases: ['ul_rm'],
      description: 'removes an AoR with all its bindings',
      recipes: [{ params: [AOR] }, { params: [TABLE_NAME, AOR] }],
      handler: (p) => {
        if (d.removeAor(target(p)) === 0) {
          throw new MiError(MI_CODES.NOT_FOUND, 'AOR not found');
        }
        return undefined;
      },
    },
    {
      name: 'rm_contact',
      aliases: ['ul_rm_contact'],
      description: 'removes one binding of an AoR, given its Contact URI (or its instance key)',
      recipes: [{ params: [AOR, CONTACT] }, { params: [TABLE_NAME, AOR, CONTACT] }],
      handler: (p) => {
        const aor = target(p);
        const held = d.held(aor);
        if (held.length === 0) {
          throw new MiError(MI_CODES.NOT_FOUND, 'AOR not found');
        }
        const uri = p.string('contact');
        const hit = held.find((c) => c.uri === uri || contactKey(c) === uri);
        if (hit === undefined || !d.remove(aor, contactKey(hit))) {
          throw new MiError(MI_CODES.NOT_FOUND, 'Contact not found');
        }
        return undefined;
      },
    },
    {
      name: 'add',
      aliases: ['ul_add'],
      description:
        "adds or refreshes a binding: aor contact expires [q], or OpenSIPS's table_name aor " +
        'contact expires q unused flags cflags methods',
      recipes: [
        { params: [AOR, CONTACT, EXPIRES, { name: 'q', type: 'number', optional: true }] },
        {
          params: [
            TABLE_NAME,
            AOR,
            CONTACT,
            EXPIRES,
            { name: 'q', type: 'number' },
            { name: 'unused', type: 'string' },
            { name: 'flags', type: 'integer' },
            { name: 'cflags', type: 'string' },
            { name: 'methods', type: 'string' },
          ],
        },
      ],
      handler: (p) => {
        d.save(addInput(p, target(p), d.wallTime()));
        return undefined;
      },
    },
    {
      name: 'cluster_sync',
      aliases: ['ul_cluster_sync'],
      description: 'pulls every binding again from a donor of the location cluster',
      handler: () => {
        const asked = d.clusterSync();
        if (asked === null) {
          throw new MiError(MI_CODES.BAD_REQUEST, 'Contact replication is disabled');
        }
        if (!asked) {
          throw new MiError(MI_CODES.SERVER_ERROR, 'Failed to send sync request');
        }
        return undefined;
      },
    },
    {
      name: 'flush',
      aliases: ['ul_flush'],
      description: 'writes every queued change to the persistent store now',
      handler: async () => {
        try {
          await d.flush();
        } catch (err) {
          throw new MiError(
            MI_CODES.SERVER_ERROR,
            'Failed to flush the location table',
            (err as Error).message,
          );
        }
        return undefined;
      },
    },
  ];
}

/** The AoR a command names, after checking the table name when one is given. */
function target(p: MiParams): string {
  const table = p.optionalString('table_name');
  if (table !== undefined && table !== TABLE) {
    throw new MiError(MI_CODES.NOT_FOUND, 'Table not found');
  }
  return p.string('aor');
}

function addInput(p: MiParams, aor: string, now: number): ContactInput {
  const expires = p.number('expires');
  const q = p.optionalNumber('q') ?? 1;
  if (expires <= 0) {
    throw MiError.invalidParams('expires: must be a positive number of seconds');
  }
  if (!(q >= 0 && q <= 1)) {
    throw MiError.invalidParams('q: must be between 0 and 1');
  }
  const methods = p.optionalString('methods');
  return {
    aor,
    uri: p.string('contact'),
    received: null,
    sourceAddress: '',
    sourcePort: 0,
    protocol: 'udp',
    socket: null,
    path: [],
    expires: now + expires * 1000,
    q,
    callId: 'Default-Call-ID',
    cseq: 1,
    userAgent: 'Tandem MI',
    instance: null,
    regId: null,
    flags: p.optionalNumber('flags') ?? 0,
    methods:
      methods === undefined || methods === ''
        ? null
        : methods.split(',').map((m) => m.trim().toUpperCase()),
    owner: null,
  };
}

function dump(d: MiDeps, brief: boolean): MiValue {
  const now = d.wallTime();
  const aors: MiValue[] = [];
  for (const aor of d.aors()) {
    aors.push({ AOR: aor, Contacts: d.held(aor).map((c) => contact(c, now, brief)) });
  }
  return { Domains: [{ name: TABLE, hash_size: aors.length, AORs: aors }] };
}

/** One binding as OpenSIPS prints it; `Expires` is seconds left, or "expired". */
function contact(c: ContactRecord, now: number, brief: boolean): MiValue {
  const left = c.expires > now ? Math.ceil((c.expires - now) / 1000) : 'expired';
  if (brief) {
    return { Contact: c.uri, Expires: left };
  }
  return {
    Contact: c.uri,
    ContactID: contactKey(c),
    Expires: left,
    Q: c.q,
    Callid: c.callId,
    Cseq: c.cseq,
    'User-agent': c.userAgent ?? undefined,
    Received: c.received ?? undefined,
    Path: c.path.length > 0 ? c.path.join(',') : undefined,
    State: 'CS_SYNC',
    Flags: c.flags,
    Cflags: '',
    Socket: c.socket ?? undefined,
    Methods: c.methods?.join(',') ?? undefined,
    SIP_instance: c.instance ?? undefined,
    Reg_id: c.regId ?? undefined,
    Source: `${c.protocol}:${c.sourceAddress}:${c.sourcePort}`,
    Owner: c.owner ?? undefined,
    Last_modified: Math.floor(c.lastModified / 1000),
    Revision: c.rev,
  };
}
