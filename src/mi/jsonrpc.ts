/**
 * The JSON-RPC 2.0 engine behind `POST /mi`, apart from HTTP so every rule is testable as a
 * function: a parsed message in, a response object (or a batch of them, or null when nothing
 * is to be answered) out. The rules are JSON-RPC 2.0's (https://www.jsonrpc.org/specification)
 * as OpenSIPS's mi_http applies them.
 */
import type { Logger } from '../core/logger.js';
import { MI_CODES, MiError } from '../module/mi-error.js';
import { MiParams } from '../module/mi-params.js';
import type { MiCallContext, MiRequestId, MiValue } from '../module/mi-types.js';
import { selectRecipe } from './recipes.js';
import type { MiRegistry } from './registry.js';

export interface JsonRpcError {
  readonly code: number;
  readonly message: string;
  readonly data?: MiValue;
}

export type JsonRpcResponse =
  | { readonly jsonrpc: '2.0'; readonly result: MiValue; readonly id: MiRequestId }
  | { readonly jsonrpc: '2.0'; readonly error: JsonRpcError; readonly id: MiRequestId };

/** What a message is answered with: one response, a batch, or nothing (notifications only). */
export type JsonRpcReply = JsonRpcResponse | JsonRpcResponse[] | null;

export interface EngineOptions {
  readonly registry: MiRegistry;
  readonly logger: Logger;
}

type JsonObject = { readonly [key: string]: MiValue | undefined };

export class JsonRpcEngine {
  /** Commands run and error answers given: read by the stats registry (`mi:` group). */
  readonly stats = { commands: 0, errors: 0 };
  private readonly registry: MiRegistry;
  private readonly logger: Logger;

  constructor(options: EngineOptions) {
    this.registry = options.registry;
    this.logger = options.logger;
  }

  /**
   * Answer the raw text of a request body. `deferred` collects what handlers asked to run once
   * the answer is written (see {@link MiCallContext.afterResponse}).
   */
  async handleText(text: string, deferred: (() => void)[] = []): Promise<JsonRpcReply> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // §5.1: -32700, invalid JSON was received by the server.
      return this.error(null, MI_CODES.PARSE_ERROR, 'Parse error');
    }
    return this.handle(parsed, deferred);
  }

  /** Answer a parsed message: one request object or a batch (an array of them). */
  async handle(message: unknown, deferred: (() => void)[] = []): Promise<JsonRpcReply> {
    if (!Array.isArray(message)) {
      return this.handleOne(message, deferred);
    }
    // §6: an empty batch is answered with a single Invalid Request, not an empty array.
    if (message.length === 0) {
      return this.error(null, MI_CODES.INVALID_REQUEST, 'Invalid Request');
    }
    // §6: one answer per request that is not a notification; none at all if all are.
    // Run one after the other, so a batch that sets then reads sees its own change.
    const out: JsonRpcResponse[] = [];
    for (const item of message as unknown[]) {
      const r = await this.handleOne(item, deferred);
      if (r !== null) {
        out.push(r);
      }
    }
    return out.length > 0 ? out : null;
  }

  private async handleOne(req: unknown, deferred: (() => void)[]): Promise<JsonRpcResponse | null> {
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      return this.error(null, MI_CODES.INVALID_REQUEST, 'Invalid Request');
    }
    const r = req as JsonObject;
    const hasId = Object.hasOwn(r, 'id');
    const id = r['id'];
    const idValid = id === null || typeof id === 'string' || typeof id === 'number';
    const params = r['params'];
    // §4: jsonrpc MUST be exactly "2.0", method a string, params (if present) an array or an
    // object, id (if present) a string, a number or null. Such an error is answered even
    // without an id: the id cannot be trusted (§5, "MUST be Null" when it cannot be detected).
    if (
      r['jsonrpc'] !== '2.0' ||
      typeof r['method'] !== 'string' ||
      (hasId && !idValid) ||
      (params !== undefined && (typeof params !== 'object' || params === null))
    ) {
      return this.error(idValid && hasId ? id : null, MI_CODES.INVALID_REQUEST, 'Invalid Request');
    }
    const method = r['method'];
    // §4.1: a request without an id is a notification; the server MUST NOT reply to it, not
    // even with an error.
    const reply = hasId ? (id as MiRequestId) : undefined;
    const answer = await this.call(method, params, reply, deferred);
    return reply === undefined ? null : answer;
  }

  private async call(
    method: string,
    params: MiValue | undefined,
    id: MiRequestId | undefined,
    deferred: (() => void)[],
  ): Promise<JsonRpcResponse> {
    const replyId = id ?? null;
    const cmd = this.registry.get(method);
    if (cmd === undefined) {
      return this.error(replyId, MI_CODES.METHOD_NOT_FOUND, 'Method not found', method);
    }
    const selection = selectRecipe(
      cmd.recipes,
      params as readonly MiValue[] | JsonObject | undefined,
    );
    if (!selection.ok) {
      return this.error(replyId, MI_CODES.INVALID_PARAMS, 'Invalid params', selection.data);
    }
    this.stats.commands++;
    const ctx: MiCallContext = {
      method,
      command: cmd.fullName,
      recipe: selection.recipe,
      id,
      logger: this.logger,
      afterResponse: (fn) => {
        deferred.push(fn);
      },
    };
    this.logger.debug({ method, id }, 'MI command');
    try {
      const result = await cmd.handler(new MiParams(selection.values), ctx);
      return { jsonrpc: '2.0', result: result === undefined ? 'OK' : result, id: replyId };
    } catch (err) {
      if (err instanceof MiError) {
        return this.error(replyId, err.code, err.message, err.data);
      }
      this.logger.error({ err, method }, 'MI command failed');
      return this.error(
        replyId,
        MI_CODES.SERVER_ERROR,
        'Internal error',
        err instanceof Error ? err.message : String(err),
      );
    }
  }

  private error(id: MiRequestId, code: number, message: string, data?: MiValue): JsonRpcResponse {
    this.stats.errors++;
    const error: JsonRpcError = data === undefined ? { code, message } : { code, message, data };
    return { jsonrpc: '2.0', error, id };
  }
}
