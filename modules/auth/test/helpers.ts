/** Shared pieces of the auth tests: requests, a fake script context, a client that answers challenges. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { silentLogger } from '../../../src/core/logger.js';
import { parseMessage, type SipRequest } from '../../../src/sip/index.js';
import { Authenticator, newCounters, type AuthenticatorOptions } from '../authorize.js';
import { FileSubscriberStore } from '../credentials/file.js';
import { subscriberFromPassword, type SubscriberStore } from '../credentials/store.js';
import { parseCredentials } from '../header.js';
import { NcTracker, NonceService } from '../nonce.js';
import type { AuthScriptContext } from '../script.js';

export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-auth-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function request(
  method: string,
  uri: string,
  headers: readonly string[] = [],
  opts: { from?: string; to?: string; body?: string } = {},
): SipRequest {
  const body = opts.body ?? '';
  const text =
    `${method} ${uri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK${Math.random().toString(36).slice(2)}\r\n` +
    `From: <${opts.from ?? 'sip:alice@sip.test'}>;tag=f1\r\n` +
    `To: <${opts.to ?? 'sip:alice@sip.test'}>\r\n` +
    `Call-ID: call-1\r\nCSeq: 1 ${method}\r\nMax-Forwards: 70\r\n` +
    headers.map((h) => `${h}\r\n`).join('') +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
}

export interface Reply {
  code: number;
  reason: string | undefined;
  headers: readonly (readonly [string, string])[];
}

export function fakeCtx(msg: SipRequest): AuthScriptContext & { replies: Reply[] } {
  const replies: Reply[] = [];
  return {
    msg,
    vars: new Map<string, unknown>(),
    replies,
    reply(code, reason, headers) {
      replies.push({ code, reason, headers: headers ?? [] });
      return true;
    },
  };
}

export interface Rig {
  auth: Authenticator;
  store: SubscriberStore;
  counters: ReturnType<typeof newCounters>;
  nc: NcTracker;
  /** Wall-clock ms; tests move it. */
  now: { ms: number };
}

export const SECRET = 'test secret, shared by the nodes';

export async function rig(
  t: Test,
  options: Partial<AuthenticatorOptions> = {},
  store?: SubscriberStore,
): Promise<Rig> {
  const now = { ms: 1_700_000_000_000 };
  const s = store ?? (await FileSubscriberStore.open(join(tempDir(t), 'subscribers.yaml')));
  if (store === undefined) {
    await s.put(subscriberFromPassword('alice', 'sip.test', 'wonderland'));
    await s.put(subscriberFromPassword('bob', 'sip.test', 'builder'));
  }
  const counters = newCounters();
  const nc = new NcTracker(1000, () => now.ms);
  const auth = new Authenticator(
    {
      realm: null,
      algorithms: ['SHA-256', 'MD5'],
      qop: ['auth'],
      allowRfc2069: false,
      uriCheck: true,
      ...options,
    },
    s,
    new NonceService(SECRET, 30_000, () => now.ms),
    nc,
    counters,
    silentLogger,
  );
  return { auth, store: s, counters, nc, now };
}

const H = {
  MD5: 'md5',
  'MD5-sess': 'md5',
  'SHA-256': 'sha256',
  'SHA-256-sess': 'sha256',
} as const;

/** What a client answers to one challenge value, computed here independently of the module. */
export interface Answer {
  user: string;
  password: string;
  method: string;
  uri: string;
  nc?: number;
  cnonce?: string;
  qop?: 'auth' | 'auth-int' | null;
  body?: string;
  /** Override fields of the header (to test tampering). */
  override?: Record<string, string>;
}

export function answer(challenge: string, a: Answer): string {
  const c = parseCredentials(challenge);
  if (!c.ok) {
    throw new Error(`bad challenge ${challenge}`);
  }
  const p = c.value.params;
  const realm = p.get('realm')!;
  const nonce = a.override?.['nonce'] ?? p.get('nonce')!;
  const algorithm = (p.get('algorithm') ?? 'MD5') as keyof typeof H;
  const hash = H[algorithm];
  const hh = (s: string) => createHash(hash).update(s).digest('hex');
  const nc = (a.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = a.cnonce ?? 'c0ffee';
  const qop = a.qop === undefined ? 'auth' : a.qop;
  let ha1 = hh(`${a.user}:${realm}:${a.password}`);
  if (algorithm.endsWith('-sess')) {
    ha1 = hh(`${ha1}:${nonce}:${cnonce}`);
  }
  const ha2 =
    qop === 'auth-int'
      ? hh(`${a.method}:${a.uri}:${hh(a.body ?? '')}`)
      : hh(`${a.method}:${a.uri}`);
  const response =
    qop === null
      ? hh(`${ha1}:${nonce}:${ha2}`)
      : hh(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
  const fields: Record<string, string> = {
    username: `"${a.user}"`,
    realm: `"${realm}"`,
    nonce: `"${nonce}"`,
    uri: `"${a.uri}"`,
    response: `"${response}"`,
    algorithm,
    ...(qop === null ? {} : { qop, nc, cnonce: `"${cnonce}"` }),
  };
  for (const [k, v] of Object.entries(a.override ?? {})) {
    fields[k] = k === 'nonce' ? `"${v}"` : v;
  }
  return `Digest ${Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}`;
}
