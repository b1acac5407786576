/** The SIP message layer: the public surface other layers import. */
export * from './types.js';
export { canonicalName, displayName } from './header-names.js';
export { SipMessage, SipRequest, SipResponse, type HeaderField } from './message.js';
export { parseMessage, DEFAULT_LIMITS, type ParseLimits, type ParseOptions } from './parser.js';
export {
  validateRequest,
  validateResponse,
  validateMessage,
  type ValidateOptions,
} from './validate.js';
export { createResponse, type ResponseOptions } from './response.js';
export { reasonPhrase } from './status.js';
export { newBranch, newTag, newCallId, randomToken, MAGIC_COOKIE } from './ids.js';
export { decodeUtf8, encodeUtf8 } from './chars.js';
