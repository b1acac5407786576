/**
 * The default subscriber store: a YAML file read into memory, so a lookup is a Map access and
 * never waits for I/O. MI changes write the whole file again (to a temporary file, then renamed
 * over the old one, mode 0600), and `subscriber_reload` re-reads it after an operator's edit.
 *
 * ```yaml
 * # realm -> user -> HA1 hashes (no passwords)
 * subscribers:
 *   example.com:
 *     alice:
 *       ha1: 2c3b6a...          # MD5(alice:example.com:password)
 *       ha1_sha256: 9d1f0e...   # SHA-256(alice:example.com:password)
 * ```
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { bySubscriber, checkSubscriber, type Subscriber, type SubscriberStore } from './store.js';

type Table = Map<string, Subscriber>;

function key(user: string, realm: string): string {
  return `${realm}\u0000${user}`;
}

/** Read and check a subscribers file; a missing file is an empty store. Throws naming the fault. */
export async function readSubscribersFile(path: string): Promise<Table> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return new Map();
    }
    throw err;
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const table: Table = new Map();
  if (doc === null || doc === undefined) {
    return table;
  }
  const realms = isMapping(doc) ? doc['subscribers'] : undefined;
  if (!isMapping(realms)) {
    throw new Error(`${path}: expected a mapping "subscribers: { <realm>: { <user>: {...} } }"`);
  }
  for (const [realm, users] of Object.entries(realms)) {
    if (!isMapping(users)) {
      throw new Error(`${path}: subscribers.${realm}: expected a mapping of users`);
    }
    for (const [user, raw] of Object.entries(users)) {
      const r = checkSubscriber(user, realm, raw);
      if (!r.ok) {
        throw new Error(`${path}: subscribers.${realm}.${user}: ${r.reason}`);
      }
      table.set(key(user, realm), r.sub);
    }
  }
  return table;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The YAML text for a table (realms and users sorted, so diffs stay small). */
export function formatSubscribers(subs: Iterable<Subscriber>): string {
  const realms: Record<string, Record<string, Record<string, string>>> = {};
  for (const s of [...subs].sort(bySubscriber)) {
    const users = (realms[s.realm] ??= {});
    const rec: Record<string, string> = {};
    if (s.ha1 !== null) {
      rec['ha1'] = s.ha1;
    }
    if (s.ha1_sha256 !== null) {
      rec['ha1_sha256'] = s.ha1_sha256;
    }
    users[s.user] = rec;
  }
  return `# Tandem auth subscribers: realm -> user -> HA1 hashes (no passwords).\n${stringify({ subscribers: realms })}`;
}

export class FileSubscriberStore implements SubscriberStore {
  readonly backend = 'file' as const;
  private table: Table = new Map();
  /** Writes and reloads run one after another, so the file and the table never cross. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly path: string) {}

  /** Open the store, reading `path` if it exists. */
  static async open(path: string): Promise<FileSubscriberStore> {
    const s = new FileSubscriberStore(path);
    s.table = await readSubscribersFile(path);
    return s;
  }

  get(user: string, realm: string): Subscriber | null {
    return this.table.get(key(user, realm)) ?? null;
  }

  put(sub: Subscriber): Promise<void> {
    return this.serial(async () => {
      const next = new Map(this.table);
      next.set(key(sub.user, sub.realm), sub);
      await this.write(next);
      this.table = next;
    });
  }

  remove(user: string, realm: string): Promise<boolean> {
    return this.serial(async () => {
      if (!this.table.has(key(user, realm))) {
        return false;
      }
      const next = new Map(this.table);
      next.delete(key(user, realm));
      await this.write(next);
      this.table = next;
      return true;
    });
  }

  list(): Promise<Subscriber[]> {
    return Promise.resolve([...this.table.values()].sort(bySubscriber));
  }

  /** Re-read the file; on error the table held so far stays and the promise rejects. */
  reload(): Promise<number> {
    return this.serial(async () => {
      this.table = await readSubscribersFile(this.path);
      return this.table.size;
    });
  }

  size(): number {
    return this.table.size;
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(table: Table): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, formatSubscribers(table.values()), { mode: 0o600 });
    await rename(tmp, this.path);
  }
}
