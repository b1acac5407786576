/**
 * `tandem-cli`: drive a running node through its MI (JSON-RPC over HTTP), the way operators use
 * `opensips-cli -x mi ...`. It imports nothing from the node's code: one HTTP request per run.
 * `run()` returns the exit code; the bin shim (scripts/tandem-cli.mjs) sets it.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_URL, parseArgs, USAGE, type JsonValue } from './args.js';

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

interface RpcAnswer {
  result?: JsonValue;
  error?: { code: number; message: string; data?: JsonValue };
}

/** How long to wait for the node's answer. */
const TIMEOUT_MS = 30_000;

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    io.stderr.write(`tandem-cli: ${parsed.error}\n${USAGE}`);
    return 2;
  }
  const { args } = parsed;
  if (args.command.kind === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const url = args.url ?? io.env['TANDEM_MI_URL'] ?? DEFAULT_URL;
  let token = io.env['TANDEM_MI_TOKEN'];
  if (args.tokenFile !== undefined) {
    try {
      token = readFileSync(args.tokenFile, 'utf8').trim();
    } catch (err) {
      io.stderr.write(`tandem-cli: cannot read ${args.tokenFile}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const cmd = args.command;
  const [method, params] =
    cmd.kind === 'mi'
      ? [cmd.method, cmd.params]
      : ['get_statistics', [cmd.groups.length === 0 ? ['all'] : cmd.groups.map(group)]];
  let answer: RpcAnswer;
  try {
    answer = await call(io.fetch ?? fetch, url, token, method, params);
  } catch (err) {
    io.stderr.write(`tandem-cli: ${(err as Error).message}\n`);
    return 1;
  }
  if (answer.error !== undefined) {
    const { code, message, data } = answer.error;
    const detail =
      data === undefined ? '' : `: ${typeof data === 'string' ? data : JSON.stringify(data)}`;
    io.stderr.write(`tandem-cli: ${message} (${code})${detail}\n`);
    return 1;
  }
  if (cmd.kind === 'stats' && isRecord(answer.result)) {
    for (const [name, v] of Object.entries(answer.result)) {
      io.stdout.write(`${name} = ${JSON.stringify(v)}\n`);
    }
    return 0;
  }
  io.stdout.write(`${JSON.stringify(answer.result ?? null, null, 2)}\n`);
  return 0;
}

/** A group name as get_statistics wants it: `core` means the whole `core:` group. */
function group(name: string): string {
  return name.includes(':') || name === 'all' ? name : `${name}:`;
}

async function call(
  fetchImpl: typeof fetch,
  url: string,
  token: string | undefined,
  method: string,
  params: JsonValue[] | Record<string, JsonValue> | undefined,
): Promise<RpcAnswer> {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    method,
    ...(params === undefined ? {} : { params }),
    id: 1,
  });
  let res: Response;
  try {
    res = await fetchImpl(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` }),
      },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause;
    throw new Error(`cannot reach ${url}: ${cause?.message ?? (err as Error).message}`, {
      cause: err,
    });
  }
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(
      `${url} answered HTTP ${res.status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`,
    );
  }
  try {
    return JSON.parse(text) as RpcAnswer;
  } catch {
    throw new Error(`${url} did not answer JSON`);
  }
}

function isRecord(v: JsonValue | undefined): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
