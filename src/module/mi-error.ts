/**
 * The error an MI command handler throws to answer the client with its own code and message,
 * as OpenSIPS commands do (`{"code":404,"message":"Cluster ID not found"}`). Anything else a
 * handler throws is answered 500 and logged.
 */
import type { MiValue } from './mi-types.js';

/** JSON-RPC 2.0 §5.1 and OpenSIPS's command codes. */
export const MI_CODES = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  SERVER_ERROR: 500,
} as const;

export class MiError extends Error {
  readonly code: number;
  readonly data: MiValue | undefined;

  constructor(code: number, message: string, data?: MiValue) {
    super(message);
    this.name = 'MiError';
    this.code = code;
    this.data = data;
  }

  /** -32602 Invalid params, with `data` naming the parameter and what was wrong. */
  static invalidParams(data: string): MiError {
    return new MiError(MI_CODES.INVALID_PARAMS, 'Invalid params', data);
  }
}
