/**
 * Parsed shapes of SIP grammar elements. All strings are "binary" strings: one character per
 * byte (latin1), exactly as the bytes arrived, so that offsets equal byte offsets and a value
 * written back is byte-identical. Decode to UTF-8 only for display (see `decodeUtf8`).
 *
 * Parameter maps keep the order they were written in. Keys are lower-cased (parameter names are
 * case-insensitive, RFC 3261 §7.3.1 and §19.1.4); values keep their case and escapes. A parameter
 * written without `=value` maps to `null`. When a name repeats, the first occurrence is kept.
 * A header parameter whose value is a quoted-string is stored WITH its quotes and escapes
 * (`"<urn:uuid:f81d>"`), so a header written back from the map is what the sender wrote; read
 * the inner text with `unquoteParam` (src/sip/params.ts). URI parameter names are stored
 * unescaped when that leaves valid pname characters (`%6C%72` is the key `lr`, RFC 3261
 * §19.1.4); URI parameter values keep their escapes.
 */

export type Params = ReadonlyMap<string, string | null>;

/**
 * The parameter map of an element written without parameters. Parsed values are read-only (a
 * proxy builds new header text rather than editing parsed structures), which lets every
 * parameter-less URI and header share this one instance instead of allocating a Map each.
 */
export const EMPTY_PARAMS: Params = new Map<string, string | null>();

/** The URI-headers map of a URI written without `?headers`. */
export const EMPTY_HEADERS: ReadonlyMap<string, string> = new Map<string, string>();

/** sip: and sips: URIs, RFC 3261 §19.1.1. */
export interface SipUri {
  readonly kind: 'sip';
  /** `sip` or `sips`, lower-cased. */
  scheme: 'sip' | 'sips';
  /** User part as written (escapes kept), or null when the URI has no userinfo. */
  user: string | null;
  /** Password as written, or null. */
  password: string | null;
  /** Host lower-cased; an IPv6 reference keeps its brackets: `[2001:db8::1]`. */
  host: string;
  /** Port, or null when absent. */
  port: number | null;
  /** URI parameters (`;transport=tcp;lr`). */
  params: Params;
  /** URI headers (`?Route=%3Csip:x%3E&Subject=hi`): names as written, values as written. */
  headers: ReadonlyMap<string, string>;
}

/** tel: URIs, RFC 3966: the number as written (visual separators kept) and its parameters. */
export interface TelUri {
  readonly kind: 'tel';
  scheme: 'tel';
  number: string;
  params: Params;
}

/** Any other absoluteURI (RFC 3261 §25.1): kept opaque, since a proxy only routes sip/sips/tel. */
export interface OtherUri {
  readonly kind: 'other';
  /** Scheme lower-cased. */
  scheme: string;
  /** Everything after the first colon, as written. */
  rest: string;
}

export type Uri = SipUri | TelUri | OtherUri;

/**
 * name-addr or addr-spec with header parameters: From, To, Contact, Route, Record-Route, Path,
 * Reply-To, Refer-To, P-Asserted-Identity (RFC 3261 §20.10, §20.20, §20.39, §25.1).
 */
export interface NameAddr {
  /**
   * Display name without quotes and with quoted-pair escapes resolved, or the token sequence
   * with runs of whitespace folded to one SP; null when absent.
   */
  displayName: string | null;
  /** True when the display name was a quoted-string. */
  quoted: boolean;
  uri: Uri;
  /** The URI text exactly as written between `<` and `>` (or the bare addr-spec). */
  uriText: string;
  /** True when the URI was enclosed in `<...>`. */
  bracketed: boolean;
  /** Header parameters after the address (`;tag=...;expires=...;q=0.5`). */
  params: Params;
}

/** A Contact header value: either the wildcard `*` (REGISTER removal) or addresses. */
export type ContactValue = { readonly star: true } | { readonly star: false; contacts: NameAddr[] };

/** One Via value, RFC 3261 §20.42. */
export interface Via {
  /** Protocol name and version, upper-cased: `SIP/2.0`. */
  protocol: string;
  /** Transport upper-cased: `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`, or any token. */
  transport: string;
  /** sent-by host, lower-cased; IPv6 with brackets. */
  host: string;
  port: number | null;
  /** Via parameters; `branch`, `received`, `rport`, `maddr`, `ttl` among them. */
  params: Params;
}

/** CSeq, RFC 3261 §20.16: sequence number below 2**31 and the method token. */
export interface CSeq {
  seq: number;
  method: string;
}

/**
 * Authorization, Proxy-Authorization, WWW-Authenticate and Proxy-Authenticate
 * (RFC 3261 §20.7, §20.27, §20.28, §20.44; RFC 7616): the scheme and its parameters. Quoted
 * values are unquoted with quoted-pair escapes resolved; names are lower-cased.
 */
export interface AuthValue {
  /** The auth-scheme as written (`Digest`); compare it case-insensitively (RFC 7235 §2.1). */
  scheme: string;
  params: Map<string, string>;
  /**
   * The token68 form (RFC 7235 §2.1) some schemes use instead of parameters, e.g.
   * `Bearer mF_9.B5f-4.1JqM` (RFC 8898 §3); absent when the value has parameters.
   */
  token68?: string;
}

/** A token with parameters: Event (RFC 6665 §8.2.1), Subscription-State, Content-Type parts. */
export interface TokenWithParams {
  value: string;
  params: Params;
}
