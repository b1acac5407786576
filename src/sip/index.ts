/** The SIP message layer: the public surface other layers import. */
export * from './types.js';
export { canonicalName, displayName } from './header-names.js';
export { SipMessage } from './message.js';
export { SipRequest } from './sip-request.js';
export { SipResponse } from './sip-response.js';
export { HeaderField, RawSource } from './header-field.js';
export {
  StreamFramer,
  DEFAULT_FRAMER_LIMITS,
  type FramerHandler,
  type FramerLimits,
} from './framer.js';
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
export { detach, detachBytes } from './detach.js';
export {
  authValuesOf,
  contentTypeOf,
  eventOf,
  expiresOf,
  subscriptionStateOf,
  tokensOf,
  type TokenListHeader,
} from './accessors.js';
export type { MediaType } from './headers/simple.js';
export { parseUri, formatUri, uriEquals, hostPortOf, unescape as unescapeUri } from './uri.js';
export {
  parseNameAddr,
  parseNameAddrList,
  parseContact,
  formatNameAddr,
  formatContact,
  tagOf,
} from './headers/name-addr.js';
export {
  parseVia,
  formatVia,
  viaBranch,
  viaReceived,
  viaRport,
  viaSentBy,
  hasRfc3261Branch,
} from './headers/via.js';
export { parseCSeq, formatCSeq } from './headers/cseq.js';
export { parseParams, formatParams, unquoteParam } from './params.js';
