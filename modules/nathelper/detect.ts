/**
 * NAT detection and fixing (OpenSIPS nathelper's `nat_uac_test`, `fix_nated_contact`,
 * `fix_nated_register`). A UA behind NAT writes its private address in Via and Contact; the
 * request arrives from the NAT's public address. Replies already follow the source (RFC 3581
 * rport and `received`, done by the transport); what is left is the Contact, which later
 * requests are sent to.
 */
import {
  formatContact,
  parseUri,
  type NameAddr,
  type ScriptContext,
  type SipUri,
} from '../../src/module/index.js';

/** Tests of nat_uac_test (OpenSIPS numbering, plus 64 of our own). */
export const NatTest = {
  /** The Contact's host is a private address (RFC 1918, RFC 6598, IPv6 ULA/link-local). */
  CONTACT_PRIVATE: 1,
  /** The top Via's sent-by host differs from the source address. */
  VIA_RECEIVED: 2,
  /** The top Via's sent-by host is a private address. */
  VIA_PRIVATE: 4,
  /** The SDP connection address (`c=`) is a private address. */
  SDP_PRIVATE: 8,
  /** The top Via's port differs from the source port. */
  VIA_PORT: 16,
  /** The source address itself is private (the UA sits behind a NAT in our own network). */
  SOURCE_PRIVATE: 32,
  /** The Contact's host:port differs from the source address and port. */
  CONTACT_SOURCE: 64,
} as const;

/** What nat_uac_test() checks when called without flags: 1 + 2 + 16 + 64. */
export const DEFAULT_NAT_TESTS = 83;

const V4_PRIVATE: readonly (readonly [number, number])[] = [
  [0x0a000000, 8], // 10.0.0.0/8
  [0xac100000, 12], // 172.16.0.0/12
  [0xc0a80000, 16], // 192.168.0.0/16
  [0x64400000, 10], // 100.64.0.0/10, RFC 6598 shared address space (carrier-grade NAT)
];

/** Is `host` (an IP literal, IPv6 with or without brackets) a private address? */
export function isPrivateAddress(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (m !== null) {
    const n =
      ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
    return V4_PRIVATE.some(([net, bits]) => n >>> (32 - bits) === net >>> (32 - bits));
  }
  const lower = h.toLowerCase();
  // fc00::/7 unique local, fe80::/10 link-local.
  return /^f[cd][0-9a-f]{0,2}:/.test(lower) || /^fe[89ab][0-9a-f]?:/.test(lower);
}

function sameHost(a: string, b: string): boolean {
  const strip = (h: string) => (h.startsWith('[') ? h.slice(1, -1) : h).toLowerCase();
  return strip(a) === strip(b);
}

function contactUris(ctx: ScriptContext): SipUri[] {
  const c = ctx.msg.contact();
  if (c === null || c.star) {
    return [];
  }
  return c.contacts.map((na) => na.uri).filter((u): u is SipUri => u.kind === 'sip');
}

/** OpenSIPS `nat_uac_test(flags)`: true when any of the selected tests finds NAT. */
export function natUacTest(ctx: ScriptContext, tests: number = DEFAULT_NAT_TESTS): boolean {
  const src = ctx.src_ip;
  const port = ctx.src_port;
  const via = ctx.msg.topVia();
  if (
    (tests & NatTest.CONTACT_PRIVATE) !== 0 &&
    contactUris(ctx).some((u) => isPrivateAddress(u.host))
  ) {
    return true;
  }
  if (via !== undefined) {
    if ((tests & NatTest.VIA_RECEIVED) !== 0 && !sameHost(via.host, src)) {
      return true;
    }
    if ((tests & NatTest.VIA_PRIVATE) !== 0 && isPrivateAddress(via.host)) {
      return true;
    }
    if ((tests & NatTest.VIA_PORT) !== 0 && (via.port ?? 5060) !== port) {
      return true;
    }
  }
  if ((tests & NatTest.SDP_PRIVATE) !== 0 && sdpIsPrivate(ctx)) {
    return true;
  }
  if ((tests & NatTest.SOURCE_PRIVATE) !== 0 && isPrivateAddress(src)) {
    return true;
  }
  if ((tests & NatTest.CONTACT_SOURCE) !== 0) {
    return contactUris(ctx).some((u) => !sameHost(u.host, src) || (u.port ?? 5060) !== port);
  }
  return false;
}

/** RFC 4566 §5.7: `c=IN IP4 <address>` lines of the session and media descriptions. */
function sdpIsPrivate(ctx: ScriptContext): boolean {
  const body = ctx.msg.body;
  if (body.length === 0) {
    return false;
  }
  const re = /^c=IN IP[46] ([^\s/]+)/gm;
  const text = body.toString('latin1');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (isPrivateAddress(m[1]!)) {
      return true;
    }
  }
  return false;
}

/** The source of the request as a URI host (IPv6 bracketed). */
function sourceHost(ctx: ScriptContext): string {
  return ctx.src_ip.includes(':') ? `[${ctx.src_ip}]` : ctx.src_ip;
}

/**
 * OpenSIPS `fix_nated_contact()`: every Contact URI of the request gets the source address
 * and port, so in-dialog requests reach the UA through its NAT binding. False when the request
 * has no Contact to fix.
 */
export function fixNatedContact(ctx: ScriptContext): boolean {
  const c = ctx.msg.contact();
  if (c === null || c.star) {
    return false;
  }
  const host = sourceHost(ctx);
  const port = ctx.src_port;
  const fixed: NameAddr[] = c.contacts.map((na) =>
    na.uri.kind === 'sip' ? { ...na, uri: { ...na.uri, host, port } } : na,
  );
  ctx.msg.removeHeader('contact');
  ctx.msg.addHeader('Contact', formatContact({ star: false, contacts: fixed }));
  return true;
}

/**
 * The URI under which a NATed UA is reached: where its request came from, over the transport
 * it came by (`sip:203.0.113.7:40312;transport=tcp`).
 */
export function receivedUri(ctx: ScriptContext): string {
  const proto = ctx.proto;
  const transport = proto === 'udp' ? '' : `;transport=${proto === 'wss' ? 'ws' : proto}`;
  const scheme = proto === 'tls' || proto === 'wss' ? 'sips' : 'sip';
  const uri = `${scheme}:${sourceHost(ctx)}:${String(ctx.src_port)}${transport}`;
  parseUri(uri); // our own text: checked once so a bad source can never be stored
  return uri;
}
