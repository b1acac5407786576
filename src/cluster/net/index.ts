/** The bin/bins cluster channel: {@link BinNetwork} and its wire format. */
export { BinNetwork } from './bin-network.js';
export type { BinNetworkOptions } from './options.js';
export { DEFAULT_TIMERS, type HeartbeatTimers } from './peer.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  MAGIC,
  PROTOCOL_VERSION,
  encodeFrame,
  frameSize,
  type DecoderSink,
  type Frame,
  type MalformedReason,
} from './codec.js';
export { NET_CAPABILITY } from './core-messages.js';
export { expectedTlsName, parseNodeUrl, type NodeUrl } from './identity.js';
