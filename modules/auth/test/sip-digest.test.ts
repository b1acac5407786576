/**
 * Cross-check with an independent digest implementation, the `sip` package's `sip/digest`
 * (MD5 only): it answers our 401 and our module authorizes its request (and its next request
 * with nc=2); and the answers this suite computes by hand pass its own server-side check.
 */
import { createRequire } from 'node:module';
import t from 'tap';
import { parseMessage, type SipRequest } from '../../../src/sip/index.js';
import { AUTH_CODES } from '../authorize.js';
import { scriptFunctions } from '../script.js';
import { answer, fakeCtx, request, rig } from './helpers.js';

interface PeerMessage {
  method?: string;
  status?: number;
  reason?: string;
  uri?: string;
  version?: string;
  headers: Record<string, unknown>;
  content?: string;
}
interface SipPackage {
  parse(text: string): PeerMessage;
  stringify(m: PeerMessage): string;
}
interface DigestPackage {
  signRequest(
    ctx: Record<string, unknown> | null,
    rq: PeerMessage,
    rs?: PeerMessage,
    creds?: { user: string; password: string; realm?: string },
  ): Record<string, unknown> | null;
  challenge(ctx: Record<string, unknown>, rs: PeerMessage): PeerMessage;
  authenticateRequest(
    ctx: Record<string, unknown>,
    rq: PeerMessage,
    creds: { user: string; password: string },
  ): boolean;
}
const req = createRequire(import.meta.url);
const sip = req('sip') as SipPackage;
const digest = req('sip/digest') as DigestPackage;

function peerRegister(cseq: number): PeerMessage {
  return sip.parse(
    'REGISTER sip:sip.test SIP/2.0\r\n' +
      `Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKpeer${cseq}\r\n` +
      'From: <sip:alice@sip.test>;tag=p1\r\nTo: <sip:alice@sip.test>\r\n' +
      `Call-ID: peer-call\r\nCSeq: ${cseq} REGISTER\r\nMax-Forwards: 70\r\n` +
      'Content-Length: 0\r\n\r\n',
  );
}

t.test('sip/digest answers our MD5 challenge and we authorize it', async (t) => {
  const r = await rig(t, { algorithms: ['MD5'] });
  const f = scriptFunctions(() => r.auth);
  const first = fakeCtx(request('REGISTER', 'sip:sip.test'));
  f.www_challenge(first);
  const [name, value] = first.replies[0]!.headers[0]!;
  const rs = sip.parse(
    'SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKpeer1\r\n' +
      'From: <sip:alice@sip.test>;tag=p1\r\nTo: <sip:alice@sip.test>;tag=s1\r\n' +
      `Call-ID: peer-call\r\nCSeq: 1 REGISTER\r\n${name}: ${value}\r\nContent-Length: 0\r\n\r\n`,
  );
  const session: Record<string, unknown> = {};
  const rq = peerRegister(2);
  digest.signRequest(session, rq, rs, { user: 'alice', password: 'wonderland' });
  const ours = parseMessage(Buffer.from(sip.stringify(rq), 'latin1')) as SipRequest;
  t.match(ours.get('authorization'), /^Digest /);
  t.equal(f.www_authorize(fakeCtx(ours)), AUTH_CODES.AUTHORIZED, 'first answer (nc=1)');

  // The package keeps the nonce and counts nc up for its next request.
  const rq2 = peerRegister(3);
  digest.signRequest(session, rq2);
  const ours2 = parseMessage(Buffer.from(sip.stringify(rq2), 'latin1')) as SipRequest;
  t.match(ours2.get('authorization'), /nc=00000002/);
  t.equal(f.www_authorize(fakeCtx(ours2)), AUTH_CODES.AUTHORIZED, 'second answer (nc=2)');
  // Replaying the first request is refused.
  const again = parseMessage(Buffer.from(sip.stringify(rq), 'latin1')) as SipRequest;
  t.equal(f.www_authorize(fakeCtx(again)), AUTH_CODES.STALE_NONCE);

  // With the wrong password the package's answer is refused.
  const rq3 = peerRegister(4);
  digest.signRequest({}, rq3, rs, { user: 'alice', password: 'nope' });
  const bad = parseMessage(Buffer.from(sip.stringify(rq3), 'latin1')) as SipRequest;
  t.equal(f.www_authorize(fakeCtx(bad)), AUTH_CODES.INVALID_PASSWORD);
});

t.test('the answers these tests compute pass sip/digest as a server', async (t) => {
  const server: Record<string, unknown> = { realm: 'sip.test', qop: 'auth' };
  const rs = digest.challenge(server, {
    status: 401,
    reason: 'Unauthorized',
    headers: {},
  });
  const text = sip.stringify({
    ...rs,
    version: '2.0',
    headers: { ...rs.headers, 'content-length': 0 },
  });
  const challengeLine = /WWW-Authenticate: (.*)\r\n/.exec(text)![1]!;
  const creds = answer(challengeLine.replace(/qop="auth"/, 'qop="auth", algorithm=MD5'), {
    user: 'alice',
    password: 'wonderland',
    method: 'REGISTER',
    uri: 'sip:sip.test',
  });
  const rq = peerRegister(5);
  const withAuth = sip.parse(
    sip.stringify(rq).replace('Content-Length', `Authorization: ${creds}\r\nContent-Length`),
  );
  t.ok(digest.authenticateRequest(server, withAuth, { user: 'alice', password: 'wonderland' }));
});
