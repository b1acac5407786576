/**
 * usrloc's append-only file (format 1, modules/usrloc/persistence/aof.ts) written straight into a
 * node's data directory, so the node starts holding `n` bindings as if it had taken those
 * registrations before: the way the sync tests and the replication benchmark give a donor a
 * large data set in seconds. Written in slices, so a million records never sit in one string.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export function writeUsrlocAof(dataDir: string, n: number, prefix = 'pre'): void {
  const dir = join(dataDir, 'usrloc');
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, 'contacts.aof'), 'w');
  try {
    writeSync(fd, `${JSON.stringify({ format: 'tandem-usrloc-aof', version: 1 })}\n`);
    const now = Date.now();
    let lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const rec = {
        v: 1,
        aor: `${prefix}${String(i)}@example.com`,
        uri: `sip:${prefix}${String(i)}@192.0.2.${String(i % 250)}:${String(5060 + (i % 1000))}`,
        received: null,
        sourceAddress: '192.0.2.1',
        sourcePort: 5060,
        protocol: 'udp',
        socket: null,
        path: [],
        expires: now + 3_600_000,
        q: 1,
        callId: `call-${prefix}-${String(i)}`,
        cseq: 1,
        userAgent: 'preload',
        instance: null,
        regId: null,
        flags: 0,
        methods: null,
        lastModified: now,
        owner: 'service/1',
        rev: now * 1024 + i,
      };
      lines.push(`P\t${JSON.stringify(rec)}\n`);
      if (lines.length === 10_000) {
        writeSync(fd, lines.join(''));
        lines = [];
      }
    }
    writeSync(fd, lines.join(''));
  } finally {
    closeSync(fd);
  }
}
