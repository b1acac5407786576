/**
 * Typed readers for headers a proxy or module reads now and then (not on every message), so they
 * are plain functions over a message rather than cached accessors on it. Each parses on call and
 * throws SipParseError on a malformed value.
 */
import { parseAuth } from './headers/auth.js';
import {
  parseContentType,
  parseDeltaSeconds,
  parseTokenList,
  parseTokenWithParams,
  type MediaType,
} from './headers/simple.js';
import type { SipMessage } from './message.js';
import type { AuthValue, TokenWithParams } from './types.js';

/** Headers whose value is a comma list of option tags or methods. */
export type TokenListHeader = 'supported' | 'require' | 'proxy-require' | 'unsupported' | 'allow';

/**
 * Every token of a list header across all its lines: option tags (RFC 3261 §19.2) of Supported,
 * Require, Proxy-Require and Unsupported, or the methods of Allow. Empty when absent.
 */
export function tokensOf(msg: SipMessage, name: TokenListHeader): string[] {
  const out: string[] = [];
  for (const value of msg.getAll(name)) {
    for (const token of parseTokenList(value)) {
      out.push(token);
    }
  }
  return out;
}

/** Expires in seconds (RFC 3261 §20.19), clamped to 2**32-1; null when absent. */
export function expiresOf(msg: SipMessage): number | null {
  const v = msg.get('expires');
  return v === undefined ? null : parseDeltaSeconds(v);
}

/** Content-Type (RFC 3261 §20.15), or null when the message has none. */
export function contentTypeOf(msg: SipMessage): MediaType | null {
  const v = msg.get('content-type');
  return v === undefined ? null : parseContentType(v);
}

/** Event (RFC 6665 §8.2.1): the package and its parameters (`id`), or null when absent. */
export function eventOf(msg: SipMessage): TokenWithParams | null {
  const v = msg.get('event');
  return v === undefined ? null : parseTokenWithParams(v);
}

/** Subscription-State (RFC 6665 §8.2.3): state and parameters, or null when absent. */
export function subscriptionStateOf(msg: SipMessage): TokenWithParams | null {
  const v = msg.get('subscription-state');
  return v === undefined ? null : parseTokenWithParams(v);
}

/**
 * Every credential or challenge in the named header (RFC 3261 §22: a request may carry one
 * Authorization per realm; a 401 may carry several challenges).
 */
export function authValuesOf(
  msg: SipMessage,
  name: 'authorization' | 'proxy-authorization' | 'www-authenticate' | 'proxy-authenticate',
): AuthValue[] {
  return msg.getAll(name).map(parseAuth);
}
