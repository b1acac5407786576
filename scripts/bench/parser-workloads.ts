/**
 * The message-layer operations the benchmarks time or count, defined once: `bench:parser`,
 * `bench:floor` and `bench:instructions` run exactly these (scripts/bench/README.md says what
 * each one is). Results feed a sink so that no work can be optimised away.
 */
import { newBranch } from '../../src/sip/ids.js';
import { parseMessage } from '../../src/sip/parser.js';
import type { SipRequest } from '../../src/sip/sip-request.js';
import { validateRequest } from '../../src/sip/validate.js';
import { INVITE, REGISTER } from '../../test/fixtures/messages.js';

export const invite = Buffer.from(INVITE, 'latin1');
export const register = Buffer.from(REGISTER, 'latin1');
const myVia = 'SIP/2.0/UDP 203.0.113.1:5060;branch=';
let sink = 0;

/** Add to the sink (for a benchmark's own steps). */
export function consume(n: number): void {
  sink += n;
}

/** Read the sink once at the end, so the results count as used. */
export function sinkValue(): number {
  return sink;
}

export const parserWorkloads = {
  'parse-invite': (): void => {
    const m = parseMessage(invite);
    const via = m.topVia();
    sink += m.cseq().seq + m.callId().length + (m.fromTag()?.length ?? 0);
    sink += (m.toTag()?.length ?? 0) + m.contentLength() + (via?.host.length ?? 0);
  },
  'parse-register': (): void => {
    const m = parseMessage(register) as SipRequest;
    const via = m.topVia();
    sink += m.cseq().seq + m.callId().length + (m.fromTag()?.length ?? 0);
    sink += m.toTag()?.length ?? 0;
    const c = m.contact();
    sink += (c !== null && !c.star ? c.contacts.length : 0) + (via?.host.length ?? 0);
    sink += m.get('expires')?.length ?? 0;
  },
  'forward-invite': (): void => {
    const m = parseMessage(invite) as SipRequest;
    validateRequest(m);
    m.pushVia(myVia + newBranch());
    m.decrementMaxForwards();
    m.popRoute();
    sink += m.toBuffer().length;
  },
  'serialize-untouched': (): void => {
    sink += parseMessage(invite).toBuffer().length;
  },
};

export type ParserWorkload = keyof typeof parserWorkloads;
