import t from 'tap';
import { TransportLayer } from '../../src/transport/index.js';
import { Recorder } from '../helpers/sip-recorder.js';
import { UdpPeer } from '../helpers/udp-peer.js';

async function setup() {
  const layer = new TransportLayer({ listen: ['udp:127.0.0.1:0'], handler: new Recorder() });
  await layer.start();
  const peer = await UdpPeer.open();
  return { layer, peer };
}

const target = (port: number) => ({ protocol: 'udp' as const, address: '127.0.0.1', port });

t.test('the datagrams of one turn leave together, in order, callbacks after', async (t) => {
  const { layer, peer } = await setup();
  t.teardown(async () => {
    await peer.close();
    await layer.stop();
  });
  const done: (Error | null)[] = [];
  for (let i = 0; i < 20; i++) {
    layer.send(target(peer.port), Buffer.from(`datagram ${i}`), (err) => done.push(err));
  }
  t.equal(done.length, 0, 'no callback runs inside send()');
  for (let i = 0; i < 20; i++) {
    t.equal(await peer.nextText(), `datagram ${i}`);
  }
  await new Promise((r) => setImmediate(r));
  t.equal(done.length, 20);
  t.ok(done.every((e) => e === null));
  t.equal(layer.stats.sent_messages, 20);
});

t.test('a stop sends what was queued before it', async (t) => {
  const { layer, peer } = await setup();
  t.teardown(() => peer.close());
  let result: Error | null | undefined;
  layer.send(target(peer.port), Buffer.from('last words'), (err) => {
    result = err;
  });
  await layer.stop();
  t.equal(await peer.nextText(), 'last words');
  await new Promise((r) => setImmediate(r));
  t.equal(result, null);
});

t.test('a datagram the socket refuses fails through its callback, not a throw', async (t) => {
  const { layer, peer } = await setup();
  t.teardown(async () => {
    await peer.close();
    await layer.stop();
  });
  const err = await new Promise<Error | null>((resolve) => {
    // Port 0 is refused by dgram when the queued datagram is handed over.
    layer.send(target(0), Buffer.from('nowhere'), resolve);
  });
  t.type(err, Error);
  t.equal(layer.stats.send_failures, 1);
  // The socket goes on serving.
  layer.send(target(peer.port), Buffer.from('still here'));
  t.equal(await peer.nextText(), 'still here');
});
