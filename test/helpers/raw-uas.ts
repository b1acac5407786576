/**
 * A callee on a raw UDP socket for tests that need what sipp cannot do: ring, answer when the
 * test says so, and hang up towards a chosen node (the node a virtual IP points at after a
 * switch), with the route set of the INVITE (RFC 3261 §12.1.1: the UAS takes the Record-Route
 * values in order as its route set). BYEs it receives are answered 200 and remembered with the
 * port they came from.
 */
import dgram from 'node:dgram';
import type { Test } from 'tap';
import {
  createResponse,
  newBranch,
  newTag,
  parseMessage,
  SipRequest,
  SipResponse,
} from '../../src/sip/index.js';

interface Call {
  invite: SipRequest;
  from: { address: string; port: number };
  tag: string;
  acked: boolean;
  answered: boolean;
}

export class RawUas {
  readonly calls = new Map<string, Call>();
  /** BYEs received: Call-ID and the port of the node that sent it. */
  readonly byes: { callId: string; port: number }[] = [];
  private readonly replies = new Map<string, (r: SipResponse) => void>();

  private constructor(
    private readonly sock: dgram.Socket,
    readonly port: number,
  ) {
    sock.on('message', (data, rinfo) => {
      this.receive(data, rinfo);
    });
  }

  static async open(t: Test): Promise<RawUas> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    t.teardown(() => {
      sock.close();
    });
    return new RawUas(sock, sock.address().port);
  }

  uri(params = ''): string {
    return `sip:callee@127.0.0.1:${String(this.port)}${params}`;
  }

  /** Resolves with the Call-ID of the next INVITE that arrives (answered 180 at once). */
  async nextCall(ms = 20_000): Promise<string> {
    const known = new Set(this.calls.keys());
    const until = Date.now() + ms;
    while (Date.now() < until) {
      for (const id of this.calls.keys()) {
        if (!known.has(id)) {
          return id;
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no INVITE reached the callee');
  }

  /** Answer 200 (retransmitted until the ACK, RFC 3261 §13.3.1.4); resolves on the ACK. */
  async answer(callId: string): Promise<void> {
    const c = this.call(callId);
    c.answered = true;
    for (let i = 0; i < 40 && !c.acked; i++) {
      this.respond(c, 200);
      await new Promise((r) => setTimeout(r, 250));
    }
    if (!c.acked) {
      throw new Error(`no ACK for ${callId}`);
    }
  }

  /** Hang up: a BYE with the route set, sent to `port`; resolves with the final status. */
  async bye(callId: string, port: number): Promise<number> {
    const c = this.call(callId);
    const inv = c.invite;
    const contact = inv.contact();
    const target = contact !== null && !contact.star ? contact.contacts[0]?.uriText : null;
    if (target === undefined || target === null) {
      throw new Error('the INVITE had no Contact');
    }
    const branch = newBranch();
    const lines = [
      `BYE ${target} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${String(this.port)};branch=${branch}`,
      `From: ${stripTag(inv.get('to') ?? '')};tag=${c.tag}`,
      `To: ${inv.get('from') ?? ''}`,
      `Call-ID: ${callId}`,
      'CSeq: 1 BYE',
      ...inv.getAll('record-route').map((rr) => `Route: ${rr}`),
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ];
    const buf = Buffer.from(lines.join('\r\n'));
    const final = new Promise<number>((resolve) => {
      this.replies.set(branch, (r) => {
        if (r.status >= 200) {
          resolve(r.status);
        }
      });
    });
    for (let i = 0; i < 20; i++) {
      this.sock.send(buf, port, '127.0.0.1');
      const status = await Promise.race([
        final,
        new Promise<null>((r) => {
          setTimeout(() => {
            r(null);
          }, 500);
        }),
      ]);
      if (status !== null) {
        return status;
      }
    }
    throw new Error(`no final response to the BYE of ${callId}`);
  }

  private call(callId: string): Call {
    const c = this.calls.get(callId);
    if (c === undefined) {
      throw new Error(`no call ${callId}`);
    }
    return c;
  }

  private respond(c: Call, status: number): void {
    const res = createResponse(c.invite, status, {
      toTag: c.tag,
      headers: [
        ...c.invite.getAll('record-route').map((rr) => ['Record-Route', rr] as const),
        ['Contact', `<sip:callee@127.0.0.1:${String(this.port)}>`],
      ],
    });
    this.sock.send(res.toBuffer(), c.from.port, c.from.address);
  }

  private receive(data: Buffer, rinfo: dgram.RemoteInfo): void {
    let msg;
    try {
      msg = parseMessage(data);
    } catch {
      return;
    }
    if (msg instanceof SipResponse) {
      const branch = msg.topVia()?.params.get('branch');
      if (typeof branch === 'string') {
        this.replies.get(branch)?.(msg);
      }
      return;
    }
    if (!(msg instanceof SipRequest)) {
      return;
    }
    const callId = msg.callId();
    const from = { address: rinfo.address, port: rinfo.port };
    if (msg.method === 'INVITE') {
      let c = this.calls.get(callId);
      if (c === undefined) {
        c = { invite: msg, from, tag: newTag(), acked: false, answered: false };
        this.calls.set(callId, c);
      }
      this.respond(c, c.answered ? 200 : 180);
    } else if (msg.method === 'ACK') {
      const c = this.calls.get(callId);
      if (c !== undefined) {
        c.acked = true;
      }
    } else {
      if (msg.method === 'BYE') {
        this.byes.push({ callId, port: rinfo.port });
      }
      this.sock.send(createResponse(msg, 200).toBuffer(), rinfo.port, rinfo.address);
    }
  }
}

function stripTag(h: string): string {
  return h.replace(/;\s*tag=[^;>\s]*/i, '');
}
