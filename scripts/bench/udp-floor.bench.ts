/**
 * `npm run bench:udp-floor`: what Node itself costs to relay one UDP datagram on this machine,
 * with no SIP processing at all: a child process receives each datagram on 127.0.0.1 and sends
 * it on to a sink, and reports its own CPU time (user and kernel) per datagram relayed.
 *
 * A call through the proxy is 7 datagrams in and 8 out (INVITE, 100, 180, 200, ACK, BYE, 200),
 * so `us_per_call_floor` = 7.5 × the per-datagram cost is what no Node proxy on this machine
 * can go below, whatever its SIP code does. Prints one JSON line:
 * `{"bench":"udp-relay-floor","user_us_per_datagram":…,"kernel_us_per_datagram":…,"us_per_call_floor":…}`.
 */
import { fork } from 'node:child_process';
import dgram from 'node:dgram';

const RELAYED = Number(process.env['BENCH_DATAGRAMS'] ?? 100_000);
const WARMUP = 2_000;

interface Figures {
  user: number;
  system: number;
}

/** The relay (child side): forward each datagram to the sink, time the middle of the run. */
function relay(sinkPort: number): void {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  let n = 0;
  let start: NodeJS.CpuUsage | null = null;
  socket.on('message', (msg) => {
    n++;
    if (n === WARMUP) {
      start = process.cpuUsage();
    }
    socket.send(msg, sinkPort, '127.0.0.1');
    if (n === WARMUP + RELAYED) {
      const used = process.cpuUsage(start ?? undefined);
      process.send?.({ user: used.user / RELAYED, system: used.system / RELAYED });
      socket.close();
    }
  });
  socket.bind(0, '127.0.0.1', () => {
    process.send?.({ port: socket.address().port });
  });
}

async function main(): Promise<void> {
  const sink = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  sink.on('message', () => undefined);
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const child = fork(new URL(import.meta.url), ['relay', String(sink.address().port)], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const figures = await new Promise<Figures>((resolve, reject) => {
    const sender = dgram.createSocket('udp4');
    // A typical INVITE's size; the content does not matter to the kernel or to Node.
    const datagram = Buffer.alloc(900, 0x41);
    let running = true;
    const burst = (port: number): void => {
      if (!running) {
        return;
      }
      // Bursts small enough for the socket buffers, paced by the timer, until the relay has
      // counted enough (a datagram lost to a full buffer is simply replaced by a later one).
      for (let i = 0; i < 20; i++) {
        sender.send(datagram, port, '127.0.0.1');
      }
      setTimeout(burst, 1, port);
    };
    child.on('message', (m: { port?: number } & Partial<Figures>) => {
      if (m.port !== undefined) {
        burst(m.port);
      } else if (m.user !== undefined && m.system !== undefined) {
        running = false;
        sender.close();
        resolve({ user: m.user, system: m.system });
      }
    });
    child.on('exit', (code) => {
      if (running) {
        running = false;
        sender.close();
        reject(new Error(`relay exited with ${code} before it finished`));
      }
    });
  });
  sink.close();
  child.kill();
  const perDatagram = figures.user + figures.system;
  process.stdout.write(
    JSON.stringify({
      bench: 'udp-relay-floor',
      user_us_per_datagram: Math.round(figures.user * 10) / 10,
      kernel_us_per_datagram: Math.round(figures.system * 10) / 10,
      us_per_call_floor: Math.round(perDatagram * 7.5),
      datagrams: RELAYED,
    }) + '\n',
  );
}

if (process.argv[2] === 'relay') {
  relay(Number(process.argv[3]));
} else {
  await main();
}
