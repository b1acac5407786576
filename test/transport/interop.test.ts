/**
 * Interop with an independent SIP stack (the `sip` npm package) over UDP: its requests reach
 * the handler and our responses match its client transactions; our requests reach it and its
 * responses pass the RFC 3261 §18.1.2 check on the way back.
 */
import { createRequire } from 'node:module';
import t from 'tap';
import { createResponse, newBranch } from '../../src/sip/index.js';
import { TransportLayer } from '../../src/transport/index.js';
import { Recorder, sipRequest } from '../helpers/sip-recorder.js';
import { UdpPeer } from '../helpers/udp-peer.js';

/** The part of the untyped `sip` package this test uses. */
interface PeerMessage {
  method?: string;
  status?: number;
  reason?: string;
  uri?: string;
  headers: Record<string, unknown>;
}
interface PeerStack {
  send(m: PeerMessage, cb?: (res: PeerMessage) => void): void;
  destroy(): void;
}
interface SipPackage {
  create(
    options: Record<string, unknown>,
    onRequest: (req: PeerMessage, remote: unknown) => void,
  ): PeerStack;
  makeResponse(req: PeerMessage, status: number, reason: string): PeerMessage;
}
const sip = createRequire(import.meta.url)('sip') as SipPackage;

async function freeUdpPort(): Promise<number> {
  const probe = await UdpPeer.open();
  const port = probe.port;
  await probe.close();
  return port;
}

t.test('the sip package as client and server against the transport', async (t) => {
  const rec = new Recorder();
  const layer = new TransportLayer({ listen: ['udp:127.0.0.1:0'], handler: rec });
  await layer.start();
  t.teardown(() => layer.stop());
  const ours = layer.sockets()[0]!;
  const peerPort = await freeUdpPort();
  // A public name unlike its address: the stack would take requests to its own address for
  // its own flow tokens, and the name makes the transport add `received` (RFC 3261 §18.2.1).
  const options = {
    address: '127.0.0.1',
    publicAddress: 'peer.invalid',
    port: peerPort,
    tcp: false,
  };
  const peer = sip.create(options, (req) => {
    peer.send(sip.makeResponse(req, 200, 'Peer OK'));
  });
  t.teardown(() => {
    peer.destroy();
  });

  // Their request, our response.
  const answered = new Promise<PeerMessage>((resolve) => {
    peer.send(
      {
        method: 'OPTIONS',
        uri: `sip:tandem@127.0.0.1:${ours.port}`,
        headers: {
          to: { uri: `sip:tandem@127.0.0.1:${ours.port}` },
          from: { uri: 'sip:peer@127.0.0.1', params: { tag: 'p1' } },
          'call-id': 'interop-1',
          cseq: { method: 'OPTIONS', seq: 1 },
          'max-forwards': 70,
          via: [],
        },
      },
      resolve,
    );
  });
  const { msg, rx } = await rec.nextRequest();
  t.equal(msg.callId(), 'interop-1');
  t.equal(msg.topVia()?.params.get('rport'), String(peerPort), 'their empty rport was filled');
  t.equal(msg.topVia()?.params.get('received'), '127.0.0.1');
  layer.sendResponse(createResponse(msg, 200, { reason: 'Tandem OK' }), rx);
  const res = await answered;
  t.equal(res.status, 200);
  t.equal(res.reason, 'Tandem OK');

  // Our request, their response.
  const branch = newBranch();
  const ourRequest = sipRequest({
    via: `SIP/2.0/UDP ${ours.sentByHost}:${ours.sentByPort};branch=${branch}`,
    callId: 'interop-2',
  }).replace('sip:bob@example.com', `sip:peer@127.0.0.1:${peerPort}`);
  layer.send(
    { protocol: 'udp', address: '127.0.0.1', port: peerPort },
    Buffer.from(ourRequest, 'latin1'),
  );
  const back = await rec.nextResponse();
  t.equal(back.msg.status, 200);
  t.equal(back.msg.reason, 'Peer OK');
  t.equal(back.msg.topVia()?.params.get('branch'), branch);
  t.equal(layer.stats.dropped_responses, 0);
});
