/** The transport layer's public surface: the contract types and the layer that implements them. */
export * from './types.js';
export {
  TransportLayer,
  DEFAULT_TRANSPORT_LIMITS,
  type TransportLayerOptions,
  type TransportLimits,
  type TransportTlsOptions,
} from './transport-layer.js';
export { TransportStats } from './stats.js';
export {
  parseListenSpec,
  parseAdvertise,
  checkListenSpec,
  makeSocketInfo,
  socketId,
  defaultPort,
  bracketHost,
  unbracketHost,
  sameAddress,
} from './sockets.js';
export { responseRoute, type ResponseRoute } from './response-target.js';
export { annotateReceived } from './via-received.js';
export { SIP_SUBPROTOCOL } from './ws.js';
