/**
 * Dialog profiles (OpenSIPS `set_dlg_profile`): named groups that count the dialogs in them,
 * with or without a value (`caller/alice`), to cap concurrent calls per customer or trunk.
 * Counts drop when a dialog ends, whatever ends it, because the tracker calls
 * {@link Profiles.release} from its one end path.
 *
 * Counts are kept per owner sharing tag, so a cluster can add up the nodes' counts without
 * counting a dialog twice: each node reports the tags active on it (profile-repl.ts), and a
 * size is what this node counts for its own tags plus what the peers report for theirs.
 */
import type { Dialog } from './dialog.js';

/** Profile name -> value ('' for profiles without value) -> dialogs in it. */
export type CountTable = Map<string, Map<string, number>>;

/** Whose counts make a profile's size (profile-repl.ts in a cluster). */
export interface ProfileView {
  /** Count this node's dialogs of `tag`? */
  own(tag: string): boolean;
  /** Other nodes' tables to add. */
  peers(): Iterable<CountTable>;
}

/** A node alone: every dialog it holds counts, nobody else's. */
const LOCAL: ProfileView = { own: () => true, peers: () => [] };

export class Profiles {
  private readonly byTag = new Map<string, CountTable>();
  private view: ProfileView = LOCAL;
  /** Told after counts change (profile replication sends them on). */
  changed: (() => void) | null = null;

  constructor(
    private readonly withValue: readonly string[],
    private readonly noValue: readonly string[],
  ) {}

  /** Use a cluster view for sizes (profile replication). */
  setView(view: ProfileView): void {
    this.view = view;
  }

  /** Is `name` a declared profile, and does it take a value? */
  kind(name: string): 'value' | 'plain' | null {
    if (this.withValue.includes(name)) {
      return 'value';
    }
    return this.noValue.includes(name) ? 'plain' : null;
  }

  names(): string[] {
    return [...this.withValue, ...this.noValue];
  }

  /**
   * Put the dialog into the profile (once per profile and value). False for an unknown
   * profile, or a value missing (or given) where the profile says otherwise.
   */
  add(d: Dialog, name: string, value?: string): boolean {
    const kind = this.kind(name);
    if (kind === null || (kind === 'value') !== (value !== undefined)) {
      return false;
    }
    const entry = value === undefined ? name : `${name}/${value}`;
    if (d.profiles.includes(entry)) {
      return true;
    }
    d.profiles.push(entry);
    this.bump(d.sharingTag, name, value ?? '', 1);
    this.changed?.();
    return true;
  }

  /** Is the dialog in the profile (with this value, or any when none is given)? */
  isIn(d: Dialog, name: string, value?: string): boolean {
    return d.profiles.some((p) => Profiles.matches(p, name, value));
  }

  /** Dialogs in the profile (with this value, or all values). -1 for an unknown profile. */
  size(name: string, value?: string): number {
    if (this.kind(name) === null) {
      return -1;
    }
    let n = 0;
    for (const table of this.tables()) {
      const m = table.get(name);
      if (m === undefined) {
        continue;
      }
      if (value !== undefined) {
        n += m.get(value) ?? 0;
      } else {
        for (const c of m.values()) {
          n += c;
        }
      }
    }
    return n;
  }

  /** Values of a profile with their counts (null for an unknown profile). */
  values(name: string): { value: string; count: number }[] | null {
    if (this.kind(name) === null) {
      return null;
    }
    const sum = new Map<string, number>();
    for (const table of this.tables()) {
      for (const [value, count] of table.get(name) ?? []) {
        sum.set(value, (sum.get(value) ?? 0) + count);
      }
    }
    return [...sum].map(([value, count]) => ({ value, count }));
  }

  /** This node's counts for the tags `own` accepts, merged (what a node shares). */
  ownCounts(own: (tag: string) => boolean): Map<string, CountTable> {
    const out = new Map<string, CountTable>();
    for (const [tag, table] of this.byTag) {
      if (own(tag) && table.size > 0) {
        out.set(tag, table);
      }
    }
    return out;
  }

  /** Does the dialog's profile entry `entry` (`name` or `name/value`) match the query? */
  static matches(entry: string, name: string, value?: string): boolean {
    if (value !== undefined) {
      return entry === `${name}/${value}`;
    }
    return entry === name || entry.startsWith(`${name}/`);
  }

  /** The dialog ended (or moves to another tag): take it out of every profile. */
  release(d: Dialog): void {
    this.each(d, -1);
  }

  /** Count a dialog whose profiles were set elsewhere (a replicated copy, a new tag). */
  count(d: Dialog): void {
    this.each(d, 1);
  }

  /** Move the dialog's counts to another owner tag. */
  retag(d: Dialog, tag: string): void {
    if (tag === d.sharingTag) {
      return;
    }
    this.release(d);
    d.sharingTag = tag;
    this.count(d);
  }

  private *tables(): Iterable<CountTable> {
    for (const [tag, table] of this.byTag) {
      if (this.view.own(tag)) {
        yield table;
      }
    }
    yield* this.view.peers();
  }

  private each(d: Dialog, by: 1 | -1): void {
    if (d.profiles.length === 0) {
      return;
    }
    for (const entry of d.profiles) {
      const slash = entry.indexOf('/');
      const name = slash < 0 ? entry : entry.slice(0, slash);
      this.bump(d.sharingTag, name, slash < 0 ? '' : entry.slice(slash + 1), by);
    }
    this.changed?.();
  }

  private bump(tag: string, name: string, value: string, by: number): void {
    let table = this.byTag.get(tag);
    if (table === undefined) {
      table = new Map();
      this.byTag.set(tag, table);
    }
    let m = table.get(name);
    if (m === undefined) {
      m = new Map();
      table.set(name, m);
    }
    const n = (m.get(value) ?? 0) + by;
    if (n <= 0) {
      m.delete(value);
      if (m.size === 0) {
        table.delete(name);
      }
    } else {
      m.set(value, n);
    }
  }
}
