/**
 * A TCP forwarder between a test and a server that the test can cut: `cut()` closes every
 * forwarded connection and refuses new ones (a link taken down), `blackhole()` keeps the
 * connections open but silently drops the bytes (a peer that hangs), `restore()` forwards again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type CutterMode = 'forward' | 'cut' | 'blackhole';

export class TcpCutter {
  private server: Server | null = null;
  private readonly pairs = new Set<[Socket, Socket]>();
  private mode: CutterMode = 'forward';
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly host = '127.0.0.1',
  ) {}

  /** Listen on `port` (0: any free port; read `port` back). */
  async start(port = 0): Promise<number> {
    const server = createServer((client) => {
      this.onClient(client);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, this.host, resolve));
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return this.port;
  }

  /** Connections forwarded now. */
  get connections(): number {
    return this.pairs.size;
  }

  cut(): void {
    this.mode = 'cut';
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  blackhole(): void {
    this.mode = 'blackhole';
  }

  restore(): void {
    this.mode = 'forward';
  }

  async stop(): Promise<void> {
    this.cut();
    const s = this.server;
    this.server = null;
    if (s !== null) {
      await new Promise<void>((resolve) => {
        s.close(() => {
          resolve();
        });
      });
    }
  }

  private onClient(client: Socket): void {
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.host);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const pipe = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (this.mode === 'forward') {
          to.write(chunk);
        }
      });
      from.on('error', () => undefined);
      from.on('close', () => {
        this.pairs.delete(pair);
        to.destroy();
      });
    };
    pipe(client, upstream);
    pipe(upstream, client);
  }
}
