/**
 * A minimal in-memory UsrlocApi for the registrar's unit tests: the registrar's logic is
 * checked here against the contract alone; the tests through a running node use the real usrloc.
 */
import {
  CONTACT_RECORD_VERSION,
  contactKey,
  type ContactInput,
  type ContactRecord,
  type RemoveReason,
  type UsrlocApi,
} from '../../usrloc/api.js';
import { input } from '../../usrloc/test/helpers.js';

/** A binding as the registrar would hand it to usrloc, for alice by default; `over` changes fields. */
export function contactInput(uri: string, over: Partial<ContactInput> = {}): ContactInput {
  return input({
    aor: 'alice@example.com',
    uri,
    sourcePort: 5062,
    socket: null,
    expires: 1_800_000_600_000,
    callId: 'c',
    userAgent: null,
    ...over,
  });
}

export class MemoryLocation implements UsrlocApi {
  readonly aors = new Map<string, Map<string, ContactRecord>>();
  readonly removed: { aor: string; key: string; reason: RemoveReason }[] = [];
  private rev = 0;
  /** What `pingSelector` answers (a test makes this node a backup by returning false). */
  selects: (c: ContactRecord) => boolean = () => true;

  constructor(public now: () => number) {}

  pingSelector(): (c: ContactRecord) => boolean {
    return this.selects;
  }

  lookup(aor: string): readonly ContactRecord[] {
    const t = this.now();
    return [...(this.aors.get(aor)?.values() ?? [])]
      .filter((c) => c.expires > t)
      .sort((a, b) => b.q - a.q || b.lastModified - a.lastModified);
  }

  getContact(aor: string, key: string): ContactRecord | null {
    return this.aors.get(aor)?.get(key) ?? null;
  }

  findByContact(uri: string): readonly ContactRecord[] {
    return [...this.all()].filter((c) => c.uri === uri);
  }

  save(input: ContactInput): ContactRecord {
    const rec: ContactRecord = {
      ...input,
      v: CONTACT_RECORD_VERSION,
      rev: ++this.rev,
      lastModified: this.now() + this.rev,
    };
    let m = this.aors.get(input.aor);
    if (m === undefined) {
      m = new Map();
      this.aors.set(input.aor, m);
    }
    m.set(contactKey(rec), rec);
    return rec;
  }

  remove(aor: string, key: string, reason: RemoveReason): boolean {
    const m = this.aors.get(aor);
    if (m?.delete(key) !== true) {
      return false;
    }
    this.removed.push({ aor, key, reason });
    if (m.size === 0) {
      this.aors.delete(aor);
    }
    return true;
  }

  removeAor(aor: string, reason: RemoveReason): number {
    const keys = [...(this.aors.get(aor)?.keys() ?? [])];
    for (const k of keys) {
      this.remove(aor, k, reason);
    }
    return keys.length;
  }

  setFlags(aor: string, key: string, flags: number): ContactRecord | null {
    const c = this.getContact(aor, key);
    if (c === null) {
      return null;
    }
    const next = { ...c, flags };
    this.aors.get(aor)!.set(key, next);
    return next;
  }

  *all(): IterableIterator<ContactRecord> {
    const t = this.now();
    for (const m of this.aors.values()) {
      for (const c of m.values()) {
        if (c.expires > t) {
          yield c;
        }
      }
    }
  }

  counts(): { aors: number; contacts: number } {
    let contacts = 0;
    for (const m of this.aors.values()) {
      contacts += m.size;
    }
    return { aors: this.aors.size, contacts };
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}
