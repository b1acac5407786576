/**
 * Addresses-of-record in canonical form. RFC 3261 §10.3 step 5: the registrar "extracts the
 * address-of-record from the To header field ... converts it to a canonical form", comparing
 * as SIP URIs do (§19.1.4): the host is case-insensitive, the user part is compared after
 * unescaping. The key is `user@host` (no scheme, port or parameters), as OpenSIPS names AoRs
 * (`alice@example.com`) in its MI and database, so operators' tools carry over.
 */
import { parseUri, unescapeUri, type Uri } from '../../src/module/index.js';

/** A URI that cannot be an AoR: why, for the 400 reason phrase. */
export class AorError extends Error {}

/** The canonical AoR of a SIP URI: `user@host`, host lower-cased, user unescaped. */
export function canonicalAor(uri: Uri): string {
  if (uri.kind !== 'sip') {
    throw new AorError('Address-of-record is not a SIP URI');
  }
  if (uri.user === null || uri.user === '') {
    throw new AorError('Address-of-record has no user part');
  }
  return `${unescapeUri(uri.user)}@${uri.host}`;
}

/** {@link canonicalAor} of a URI given as text (MI input, a script argument). */
export function canonicalAorOf(text: string): string {
  let uri: Uri;
  try {
    // Accept `alice@example.com` as MI users type it, as well as a full URI.
    uri = parseUri(/^[a-z][a-z0-9+.-]*:/i.test(text) ? text : `sip:${text}`);
  } catch {
    throw new AorError(`not a SIP address: ${text}`);
  }
  return canonicalAor(uri);
}
