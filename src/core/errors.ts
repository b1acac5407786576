/**
 * The coded error registry. Every error Tandem raises on purpose carries a stable `code` from
 * this table; codes are never reused once retired. `docs/errors.md` lists each code and a test
 * (test/core/errors.test.ts) checks that the two stay in step.
 *
 * Three kinds of failure exist (see docs/architecture.md): bad input from the network
 * ({@link SipParseError}, never thrown past the transport), SIP outcomes (plain values, not
 * errors), and programmer or config errors ({@link TandemError}, thrown at boot).
 */

/** Parse and validation failures of SIP input: the SIP status to answer with and its reason. */
export const SIP_ERRORS = {
  SIP_ERR_EMPTY: { status: 400, reason: 'Empty Message' },
  SIP_ERR_START_LINE: { status: 400, reason: 'Malformed Start Line' },
  SIP_ERR_METHOD: { status: 400, reason: 'Malformed Method' },
  SIP_ERR_REQUEST_URI: { status: 400, reason: 'Malformed Request-URI' },
  SIP_ERR_VERSION: { status: 505, reason: 'Version Not Supported' },
  SIP_ERR_STATUS_CODE: { status: 400, reason: 'Bad Status Code' },
  SIP_ERR_NO_HEAD_END: { status: 400, reason: 'Missing Empty Line After Headers' },
  SIP_ERR_HEADER_SYNTAX: { status: 400, reason: 'Malformed Header Line' },
  SIP_ERR_HEAD_TOO_LARGE: { status: 513, reason: 'Header Block Too Large' },
  SIP_ERR_TOO_MANY_HEADERS: { status: 513, reason: 'Too Many Headers' },
  SIP_ERR_BODY_TOO_LARGE: { status: 513, reason: 'Message Body Too Large' },
  SIP_ERR_CONTENT_LENGTH: { status: 400, reason: 'Bad Content-Length' },
  SIP_ERR_CONTENT_LENGTH_MISMATCH: { status: 400, reason: 'Conflicting Content-Length' },
  SIP_ERR_BODY_TRUNCATED: { status: 400, reason: 'Body Shorter Than Content-Length' },
  SIP_ERR_MISSING_HEADER: { status: 400, reason: 'Missing Mandatory Header' },
  SIP_ERR_DUPLICATE_HEADER: { status: 400, reason: 'Duplicate Single-Value Header' },
  SIP_ERR_CSEQ: { status: 400, reason: 'Bad CSeq' },
  SIP_ERR_CSEQ_METHOD: { status: 400, reason: 'CSeq Method Does Not Match' },
  SIP_ERR_MAX_FORWARDS: { status: 400, reason: 'Bad Max-Forwards' },
  SIP_ERR_CALL_ID: { status: 400, reason: 'Bad Call-ID' },
  SIP_ERR_VIA: { status: 400, reason: 'Bad Via' },
  SIP_ERR_URI: { status: 400, reason: 'Bad URI' },
  SIP_ERR_NAME_ADDR: { status: 400, reason: 'Bad Address Header' },
  SIP_ERR_PARAM: { status: 400, reason: 'Bad Header Parameter' },
  SIP_ERR_AUTH: { status: 400, reason: 'Bad Authorization Header' },
  SIP_ERR_HEADER_VALUE: { status: 400, reason: 'Bad Header Value' },
  SIP_ERR_FRAMING: { status: 400, reason: 'Stream Framing Error' },
  SIP_ERR_FLOOD: { status: 400, reason: 'Stream Flood' },
} as const satisfies Record<string, { status: number; reason: string }>;

export type SipErrorCode = keyof typeof SIP_ERRORS;

/** Programmer and configuration errors: the message template for each code. */
export const CORE_ERRORS = {
  TANDEM_ERR_INVALID_ARGUMENT: 'Invalid argument: %s',
  TANDEM_ERR_INVALID_STATE: 'Invalid state: %s',
  TANDEM_ERR_CONFIG: 'Invalid configuration: %s',
  TANDEM_ERR_LISTEN: 'Cannot listen: %s',
  TANDEM_ERR_SEND: 'Cannot send: %s',
  TANDEM_ERR_NO_SOCKET: 'No local socket for the destination: %s',
  TANDEM_ERR_RESOLVE: 'Cannot resolve: %s',
  TANDEM_ERR_SCRIPT: 'Routing script error: %s',
  TANDEM_ERR_MODULE: 'Module error: %s',
} as const satisfies Record<string, string>;

export type CoreErrorCode = keyof typeof CORE_ERRORS;

/** Base of every coded error Tandem throws. */
export class TandemError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TandemError';
    this.code = code;
  }
}

/** A programmer or configuration error, thrown where the fault is found. */
export class CoreError extends TandemError {
  constructor(code: CoreErrorCode, detail: string, options?: ErrorOptions) {
    super(code, CORE_ERRORS[code].replace('%s', detail), options);
    this.name = 'CoreError';
  }
}

/**
 * Bad SIP input. `status` and `reason` are what a reply uses when one is possible; `reason`
 * names the problem (for instance `Missing Call-ID Header`) so the peer's logs say what was wrong.
 */
export class SipParseError extends TandemError {
  declare readonly code: SipErrorCode;
  readonly status: number;
  readonly reason: string;

  constructor(code: SipErrorCode, reason?: string) {
    const entry = SIP_ERRORS[code];
    const text = reason ?? entry.reason;
    super(code, `${code}: ${text}`);
    this.name = 'SipParseError';
    this.status = entry.status;
    this.reason = text;
  }
}

/** True for errors this registry produced; the property tests use it to tell ours from crashes. */
export function isSipParseError(err: unknown): err is SipParseError {
  return err instanceof SipParseError;
}
