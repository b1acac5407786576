/** Helpers for asserting on the coded errors the SIP layer throws. */
import { SipParseError } from '../../src/core/errors.js';

/**
 * The `code` of the SipParseError that `fn` throws, so one `t.equal` can check it. Returns
 * `none` when `fn` returns normally, and a `not a SipParseError: …` string for any other throw.
 */
export function codeOf(fn: () => unknown, none = 'no error'): string {
  try {
    fn();
  } catch (err) {
    return err instanceof SipParseError ? err.code : `not a SipParseError: ${String(err)}`;
  }
  return none;
}
