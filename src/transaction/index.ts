/** The transaction layer's public surface (RFC 3261 §17). */
export * from './types.js';
export {
  TransactionLayer,
  type TransactionLayerOptions,
  type ServerTx,
  type ClientTx,
} from './layer.js';
export {
  TRYING_DELAY_MS,
  resolveTimers,
  type ResolvedTimers,
  type TransactionStats,
} from './context.js';
export { InviteClientTransaction } from './invite-client.js';
export { NonInviteClientTransaction } from './non-invite-client.js';
export { InviteServerTransaction, type ServerFailure } from './invite-server.js';
export { NonInviteServerTransaction } from './non-invite-server.js';
export { buildAck, buildCancel } from './build.js';
