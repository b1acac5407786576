/** A TransportHandler that records what the transport delivers, and SIP text builders. */
import type { SipRequest, SipResponse } from '../../src/sip/index.js';
import type { ReceiveInfo, TransportHandler } from '../../src/transport/index.js';

export type Delivered =
  | { kind: 'request'; msg: SipRequest; rx: ReceiveInfo }
  | { kind: 'response'; msg: SipResponse; rx: ReceiveInfo };

/** Queues every delivered message; `next()` waits for one. */
export class Recorder implements TransportHandler {
  readonly all: Delivered[] = [];
  private readonly queue: Delivered[] = [];
  private waiter: ((d: Delivered) => void) | null = null;

  onRequest(msg: SipRequest, rx: ReceiveInfo): void {
    this.push({ kind: 'request', msg, rx });
  }

  onResponse(msg: SipResponse, rx: ReceiveInfo): void {
    this.push({ kind: 'response', msg, rx });
  }

  next(timeoutMs = 3000): Promise<Delivered> {
    const queued = this.queue.shift();
    if (queued !== undefined) {
      return Promise.resolve(queued);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`nothing delivered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (d) => {
        clearTimeout(timer);
        resolve(d);
      };
    });
  }

  async nextRequest(timeoutMs = 3000): Promise<{ msg: SipRequest; rx: ReceiveInfo }> {
    const d = await this.next(timeoutMs);
    if (d.kind !== 'request') {
      throw new Error(`expected a request, got a ${d.msg.status}`);
    }
    return d;
  }

  async nextResponse(timeoutMs = 3000): Promise<{ msg: SipResponse; rx: ReceiveInfo }> {
    const d = await this.next(timeoutMs);
    if (d.kind !== 'response') {
      throw new Error(`expected a response, got ${d.msg.method}`);
    }
    return d;
  }

  private push(d: Delivered): void {
    this.all.push(d);
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w(d);
    } else {
      this.queue.push(d);
    }
  }
}

/** Options for {@link sipRequest}. */
export interface RequestText {
  method?: string;
  /** The whole top Via value. */
  via?: string;
  /** Extra header lines (`Name: value`). */
  headers?: string[];
  /** Leave out these header names (exact, e.g. `Call-ID`). */
  omit?: string[];
  body?: string;
  /** Write Content-Length (default true). */
  contentLength?: boolean;
  callId?: string;
}

/** A small well-formed request as text. */
export function sipRequest(o: RequestText = {}): string {
  const method = o.method ?? 'OPTIONS';
  const body = o.body ?? '';
  const lines = [
    `${method} sip:bob@example.com SIP/2.0`,
    `Via: ${o.via ?? 'SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-test-1'}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:bob@example.com>',
    `Call-ID: ${o.callId ?? 'call-1@test'}`,
    `CSeq: 1 ${method}`,
    ...(o.headers ?? []),
  ].filter((l) => !(o.omit ?? []).some((name) => l.startsWith(`${name}:`)));
  if (o.contentLength ?? true) {
    lines.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** A response as text with the given top Via. */
export function sipResponse(via: string, status = 200, callId = 'call-1@test'): string {
  return [
    `SIP/2.0 ${status} OK`,
    `Via: ${via}`,
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:bob@example.com>;tag=b1',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** The value of the first header `name` in a message text. */
export function header(text: string, name: string): string | undefined {
  const re = new RegExp(`^${name}:\\s*(.*)$`, 'im');
  return re.exec(text)?.[1]?.replace(/\r$/, '');
}

/** Poll `pred` every 5 ms until it holds; rejects after `timeoutMs`. */
export async function until(pred: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) {
      throw new Error(`condition not met within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
