/**
 * nathelper: NAT detection, Contact fixing and keep-alive pinging (OpenSIPS nathelper). See
 * README.md.
 */
import { z } from 'zod';
import { defineModule, type ScriptContext } from '../../src/module/index.js';
import { RECEIVED_VAR, type UsrlocApi } from '../usrloc/api.js';
import { DEFAULT_NAT_TESTS, fixNatedContact, natUacTest, receivedUri } from './detect.js';
import { Pinger } from './ping.js';

declare module '../../src/script/functions.js' {
  interface ScriptFunctions {
    /** Is the UA behind NAT? `tests` are the bits of NatTest (default 83). */
    nat_uac_test(tests?: number): boolean;
    /** Rewrite the Contact URIs to the source address and port. */
    fix_nated_contact(): boolean;
    /** Have save() store the source address as the contact's received address (and flag NAT). */
    fix_nated_register(): boolean;
  }
}

const params = z.strictObject({
  /** Seconds between keep-alive rounds; 0 turns pinging off (OpenSIPS `natping_interval`). */
  natping_interval: z.number().int().nonnegative().default(30),
  /** OPTIONS requests (answered, so dead contacts are found) or CRLF keep-alives (RFC 5626). */
  natping_method: z.enum(['OPTIONS', 'CRLF']).default('OPTIONS'),
  /** Ping only contacts flagged NAT (OpenSIPS `ping_nated_only`). */
  ping_nated_only: z.boolean().default(true),
  /** Unanswered OPTIONS in a row before the binding is removed; 0 never removes. */
  max_unanswered_pings: z.number().int().nonnegative().default(3),
});

export default () => {
  let pinger: Pinger | null = null;
  const count = (name: 'pings_sent' | 'pings_unanswered' | 'contacts_removed') => ({
    kind: 'counter' as const,
    description: name.replace('_', ' '),
    read: () => pinger?.stats[name] ?? 0,
  });
  return defineModule({
    name: 'nathelper',
    description: 'NAT detection, Contact fixing and keep-alive pinging of NATed contacts',
    params,
    depends: ['usrloc'],
    jobs: {
      // Gated per binding by usrloc's pinging_mode: the owner tag active here (ownership), or
      // this node's AoR-hash share of the synced nodes (cooperation).
      natping: {
        description: 'keep-alive pings to the NATed contacts usrloc selects for this node',
        shtag: true,
      },
    },
    script: {
      nat_uac_test: (ctx: ScriptContext, tests?: number) =>
        natUacTest(ctx, tests ?? DEFAULT_NAT_TESTS),
      fix_nated_contact: (ctx: ScriptContext) => fixNatedContact(ctx),
      fix_nated_register: (ctx: ScriptContext) => {
        ctx.vars.set(RECEIVED_VAR, receivedUri(ctx));
        return true;
      },
    },
    stats: {
      pings_sent: count('pings_sent'),
      pings_unanswered: count('pings_unanswered'),
      contacts_removed: count('contacts_removed'),
    },
    init(host) {
      const p = host.params;
      pinger = new Pinger(
        host.api<UsrlocApi>('usrloc'),
        host,
        {
          method: p.natping_method,
          all: !p.ping_nated_only,
          maxUnanswered: p.max_unanswered_pings,
        },
        host.logger,
      );
      if (p.natping_interval > 0) {
        const ping = pinger;
        host.every('natping', p.natping_interval * 1000, () => {
          ping.round();
        });
      }
    },
  });
};
