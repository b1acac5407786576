/** Shared helpers for the stream framer tests: a recording handler and message builders. */
import type { SipParseError } from '../../src/core/errors.js';
import { StreamFramer, type FramerLimits } from '../../src/sip/framer.js';

/** What a framer reported, in order: `msg:<bytes as latin1>`, `ping`, `pong`, `error:<code>`. */
export interface Recorder {
  framer: StreamFramer;
  events: string[];
  errors: SipParseError[];
  messages: Buffer[];
}

export function record(limits: Partial<FramerLimits> = {}): Recorder {
  const events: string[] = [];
  const errors: SipParseError[] = [];
  const messages: Buffer[] = [];
  const framer = new StreamFramer(
    {
      onMessage(m) {
        messages.push(m);
        events.push(`msg:${m.toString('latin1')}`);
      },
      onPing() {
        events.push('ping');
      },
      onPong() {
        events.push('pong');
      },
      onError(err) {
        errors.push(err);
        events.push(`error:${err.code}`);
      },
    },
    limits,
  );
  return { framer, events, errors, messages };
}

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A request with the given body, its Content-Length header written as `cl` (default exact). */
export function request(
  body = '',
  cl = `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
): string {
  return (
    'INVITE sip:bob@biloxi.example.com SIP/2.0\r\n' +
    'Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n' +
    'Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n' +
    'Call-ID: 3848276298220188511@atlanta.example.com\r\n' +
    'CSeq: 1 INVITE\r\n' +
    'Content-Type: application/sdp\r\n' +
    `${cl}\r\n\r\n${body}`
  );
}

export function feed(r: Recorder, ...chunks: string[]): string[] {
  for (const c of chunks) {
    r.framer.push(b(c));
  }
  return r.events;
}

/** Push `stream` cut at the given offsets. */
export function feedSplit(r: Recorder, stream: Buffer, cuts: number[]): void {
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    r.framer.push(stream.subarray(from, cut));
    from = cut;
  }
}

export const SDP =
  'v=0\r\no=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\ns=-\r\n';
