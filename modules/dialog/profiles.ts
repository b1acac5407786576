/**
 * Dialog profiles (OpenSIPS `set_dlg_profile`): named groups that count the dialogs in them,
 * with or without a value (`caller/alice`), to cap concurrent calls per customer or trunk.
 * Counts drop when a dialog ends, whatever ends it, because the tracker calls
 * {@link Profiles.release} from its one end path.
 */
import type { Dialog } from './dialog.js';

export class Profiles {
  /** Profile name -> value ('' for profiles without value) -> dialogs in it. */
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(
    private readonly withValue: readonly string[],
    private readonly noValue: readonly string[],
  ) {
    for (const name of [...withValue, ...noValue]) {
      this.counts.set(name, new Map());
    }
  }

  /** Is `name` a declared profile, and does it take a value? */
  kind(name: string): 'value' | 'plain' | null {
    if (this.withValue.includes(name)) {
      return 'value';
    }
    return this.noValue.includes(name) ? 'plain' : null;
  }

  names(): string[] {
    return [...this.counts.keys()];
  }

  /**
   * Put the dialog into the profile (once per profile and value). False for an unknown
   * profile, or a value missing (or given) where the profile says otherwise.
   */
  add(d: Dialog, name: string, value?: string): boolean {
    const key = this.key(name, value);
    if (key === null) {
      return false;
    }
    const entry = value === undefined ? name : `${name}/${value}`;
    if (d.profiles.includes(entry)) {
      return true;
    }
    d.profiles.push(entry);
    this.bump(name, value ?? '', 1);
    return true;
  }

  /** Is the dialog in the profile (with this value, or any when none is given)? */
  isIn(d: Dialog, name: string, value?: string): boolean {
    if (value !== undefined) {
      return d.profiles.includes(`${name}/${value}`);
    }
    return d.profiles.some((p) => p === name || p.startsWith(`${name}/`));
  }

  /** Dialogs in the profile (with this value, or all values). -1 for an unknown profile. */
  size(name: string, value?: string): number {
    const m = this.counts.get(name);
    if (m === undefined) {
      return -1;
    }
    if (value !== undefined) {
      return m.get(value) ?? 0;
    }
    let n = 0;
    for (const c of m.values()) {
      n += c;
    }
    return n;
  }

  /** Values of a profile with their counts (null for an unknown profile). */
  values(name: string): { value: string; count: number }[] | null {
    const m = this.counts.get(name);
    return m === undefined ? null : [...m].map(([value, count]) => ({ value, count }));
  }

  /** Does the dialog's profile entry `entry` (`name` or `name/value`) match the query? */
  static matches(entry: string, name: string, value?: string): boolean {
    if (value !== undefined) {
      return entry === `${name}/${value}`;
    }
    return entry === name || entry.startsWith(`${name}/`);
  }

  /** The dialog ended: take it out of every profile. */
  release(d: Dialog): void {
    for (const entry of d.profiles) {
      const slash = entry.indexOf('/');
      const name = slash < 0 ? entry : entry.slice(0, slash);
      this.bump(name, slash < 0 ? '' : entry.slice(slash + 1), -1);
    }
  }

  private key(name: string, value: string | undefined): string | null {
    const kind = this.kind(name);
    if (kind === null || (kind === 'value') !== (value !== undefined)) {
      return null;
    }
    return name;
  }

  private bump(name: string, value: string, by: number): void {
    const m = this.counts.get(name);
    if (m === undefined) {
      return;
    }
    const n = (m.get(value) ?? 0) + by;
    if (n <= 0) {
      m.delete(value);
    } else {
      m.set(value, n);
    }
  }
}
