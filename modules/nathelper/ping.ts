/**
 * Keep-alive pinging of NATed contacts (OpenSIPS nathelper `natping_interval`): each round
 * sends every pinged contact an OPTIONS (or a CRLF keep-alive), which keeps the NAT binding
 * open. A contact that leaves `max_unanswered` OPTIONS in a row unanswered is dead (the phone
 * went away without unregistering) and its binding is removed. A round acts only on bindings
 * usrloc selects for this node (`UsrlocApi.pingSelector`, usrloc's `pinging_mode`): in
 * `ownership` mode those whose sharing tag is active here, so the backup of a pair leaves
 * pinging to the active node; in `cooperation` mode the synced nodes split the AoRs by hash.
 */
import { parseUri, type Logger, type ModuleHost, type SendTarget } from '../../src/module/index.js';
import { ContactFlags, contactKey, type ContactRecord, type UsrlocApi } from '../usrloc/api.js';

export interface PingOptions {
  readonly method: 'OPTIONS' | 'CRLF';
  /** Ping every contact, not only those flagged NAT. */
  readonly all: boolean;
  /** Unanswered OPTIONS in a row before the binding goes; 0 never removes. */
  readonly maxUnanswered: number;
}

/** The pinger's counters (nathelper statistics). */
export interface PingStats {
  pings_sent: number;
  pings_unanswered: number;
  contacts_removed: number;
}

const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');

export class Pinger {
  /** Unanswered pings in a row, by AoR and contact key. */
  private readonly misses = new Map<string, number>();
  /** Contacts with a ping in flight (a round never sends a second one to them). */
  private readonly inFlight = new Set<string>();
  readonly stats: PingStats = { pings_sent: 0, pings_unanswered: 0, contacts_removed: 0 };

  constructor(
    private readonly ul: UsrlocApi,
    private readonly host: { readonly sip: ModuleHost['sip'] },
    private readonly options: PingOptions,
    private readonly logger: Logger,
  ) {}

  /** One round: ping every due contact; returns how many pings were sent. */
  round(): number {
    let sent = 0;
    const seen = new Set<string>();
    // Asked once a round: in cooperation mode it reads the cluster's synced nodes.
    const mine = this.ul.pingSelector();
    for (const c of [...this.ul.all()]) {
      const id = `${c.aor}\0${contactKey(c)}`;
      seen.add(id);
      if (!this.options.all && (c.flags & ContactFlags.NAT) === 0) {
        continue;
      }
      if (!mine(c) || this.inFlight.has(id)) {
        continue;
      }
      if (this.options.method === 'CRLF') {
        this.crlf(c);
      } else {
        this.options_(c, id);
      }
      sent++;
    }
    // Forget the counts of bindings that went away.
    for (const id of this.misses.keys()) {
      if (!seen.has(id)) {
        this.misses.delete(id);
      }
    }
    this.stats.pings_sent += sent;
    return sent;
  }

  private options_(c: ContactRecord, id: string): void {
    this.inFlight.add(id);
    const hasPath = c.path.length > 0;
    void this.host.sip
      .request({
        method: 'OPTIONS',
        uri: c.uri,
        dst: hasPath ? null : c.received,
        routes: hasPath ? c.path : null,
        socketId: c.socket,
      })
      .then(
        (r) => {
          this.inFlight.delete(id);
          // Any response, even 404 or 405, proves the UA and its NAT binding are there; only
          // silence (408) or an unreachable target (503 without a response) counts as a miss.
          if (r.response !== null) {
            this.misses.delete(id);
          } else {
            this.missed(c, id);
          }
        },
        (err: unknown) => {
          this.inFlight.delete(id);
          this.logger.warn({ err, aor: c.aor }, 'keep-alive ping could not be sent');
        },
      );
  }

  private missed(c: ContactRecord, id: string): void {
    this.stats.pings_unanswered++;
    const n = (this.misses.get(id) ?? 0) + 1;
    this.misses.set(id, n);
    if (this.options.maxUnanswered > 0 && n >= this.options.maxUnanswered) {
      this.misses.delete(id);
      // Still this node's to ping? The tag (or the synced nodes) may have changed meanwhile.
      if (this.ul.pingSelector()(c) && this.ul.remove(c.aor, contactKey(c), 'ping')) {
        this.stats.contacts_removed++;
        this.logger.info(
          { aor: c.aor, contact: c.uri },
          'contact removed: keep-alive pings unanswered',
        );
      }
    }
  }

  /** RFC 5626 §4.4.1's CRLF keep-alive, to where the REGISTER came from. */
  private crlf(c: ContactRecord): void {
    const target = crlfTarget(c);
    if (target !== null) {
      this.host.sip.sendRaw(target, CRLF2);
    }
  }
}

/** Where a CRLF keep-alive goes: the received address, else the Contact's own host:port. */
function crlfTarget(c: ContactRecord): SendTarget | null {
  const proto = c.protocol as SendTarget['protocol'];
  if (c.received === null) {
    return { protocol: proto, address: c.sourceAddress, port: c.sourcePort, ...socket(c) };
  }
  const u = parseUri(c.received);
  if (u.kind !== 'sip') {
    return null;
  }
  const address = u.host.startsWith('[') ? u.host.slice(1, -1) : u.host;
  return { protocol: proto, address, port: u.port ?? 5060, ...socket(c) };
}

function socket(c: ContactRecord): { socketId?: string } {
  return c.socket === null ? {} : { socketId: c.socket };
}
