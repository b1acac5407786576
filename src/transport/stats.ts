/**
 * The transport's counters. A class with every field initialised gives one hidden class, so an
 * increment on the hot path is a plain property store; MI and /metrics read the fields as they are.
 */
export class TransportStats {
  /** Requests that parsed, passed validation and were handed to the handler. */
  received_requests = 0;
  /** Responses that parsed, passed validation and the §18.1.2 sent-by check. */
  received_replies = 0;
  /** Input that failed parsing, validation or stream framing. Keep-alives are not counted. */
  bad_messages = 0;
  /** RFC 3261 §18.1.2: responses whose top Via sent-by is not one of ours. */
  dropped_responses = 0;
  /** Messages the kernel accepted (datagrams sent, stream writes flushed). */
  sent_messages = 0;
  /** Sends that failed: no socket, refused, reset, timed out, over the connection cap. */
  send_failures = 0;
  /** Stream connections open now (a gauge), inbound and outbound. */
  connections_open = 0;
  /** Inbound connections destroyed at once because the table was full. */
  connections_refused = 0;
  /** Exceptions thrown by the handler above (caught, logged at error). */
  handler_errors = 0;
}
