/**
 * MI commands over the subscriber store. OpenSIPS keeps subscribers in its database and edits
 * them with `opensips-cli user add|rm`; it has no MI command for it, so the names are ours:
 * `auth:subscriber_add`, `subscriber_rm`, `subscriber_list`, `subscriber_reload` (also reachable
 * as `auth_subscriber_add` and so on). Passwords are turned into HA1 hashes at once and never
 * stored, logged or listed; listings do not show the hashes either (an HA1 is as good as the
 * password within its realm).
 */
import { MI_CODES, MiError, type MiCommandDefinition } from '../../src/module/index.js';
import { badName, subscriberFromPassword, type SubscriberStore } from './credentials/store.js';

const USER = { name: 'user', type: 'string' } as const;
const REALM = { name: 'realm', type: 'string' } as const;

function checkName(what: string, value: string): void {
  const fault = badName(what, value);
  if (fault !== null) {
    throw new MiError(MI_CODES.BAD_REQUEST, fault);
  }
}

async function storeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MiError) {
      throw err;
    }
    throw new MiError(MI_CODES.SERVER_ERROR, `subscriber store: ${(err as Error).message}`);
  }
}

/** The module's MI commands; `onChange` runs after the store changed (for logging). */
export function miCommands(
  store: () => SubscriberStore,
  onChange: (what: string, user: string, realm: string) => void,
): MiCommandDefinition[] {
  return [
    {
      name: 'subscriber_add',
      description: 'add or replace a subscriber; stores the MD5 and SHA-256 HA1 of the password',
      recipes: [{ params: [USER, REALM, { name: 'password', type: 'string' }] }],
      handler: async (p) => {
        const user = p.string('user');
        const realm = p.string('realm');
        checkName('user', user);
        checkName('realm', realm);
        const password = p.string('password');
        if (password.length === 0) {
          throw new MiError(MI_CODES.BAD_REQUEST, 'empty password');
        }
        await storeCall(() => store().put(subscriberFromPassword(user, realm, password)));
        onChange('added', user, realm);
        return undefined;
      },
    },
    {
      name: 'subscriber_rm',
      description: 'remove a subscriber',
      recipes: [{ params: [USER, REALM] }],
      handler: async (p) => {
        const user = p.string('user');
        const realm = p.string('realm');
        const removed = await storeCall(() => store().remove(user, realm));
        if (!removed) {
          throw new MiError(MI_CODES.NOT_FOUND, 'Subscriber not found');
        }
        onChange('removed', user, realm);
        return undefined;
      },
    },
    {
      name: 'subscriber_list',
      description:
        'list subscribers (optionally of one realm) and the hashes held, not their values',
      recipes: [{ params: [] }, { params: [REALM] }],
      handler: async (p) => {
        const realm = p.optionalString('realm');
        const subs = await storeCall(() => store().list());
        return {
          Subscribers: subs
            .filter((s) => realm === undefined || s.realm === realm)
            .map((s) => ({
              user: s.user,
              realm: s.realm,
              algorithms: [
                ...(s.ha1_sha256 !== null ? ['SHA-256'] : []),
                ...(s.ha1 !== null ? ['MD5'] : []),
              ],
            })),
        };
      },
    },
    {
      name: 'subscriber_reload',
      description: 'read the subscribers again (the YAML file after an edit; Redis: recount)',
      handler: async () => {
        const n = await storeCall(() => store().reload());
        return { Subscribers: n };
      },
    },
  ];
}
