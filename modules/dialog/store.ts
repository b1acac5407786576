/**
 * The dialogs held by this node: by dialog id (what our Record-Route carries, the fast path of
 * sequential requests) and by Call-ID (`dlg_list callid`, `match_dialog()` without a did).
 */
import { DlgState } from './api.js';
import type { Dialog } from './dialog.js';

export class DialogStore {
  private readonly byId = new Map<string, Dialog>();
  /** Most Call-IDs have one dialog; a forked call that confirmed twice, or a spiral, has more. */
  private readonly byCallId = new Map<string, Dialog | Dialog[]>();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Dialog | undefined {
    return this.byId.get(id);
  }

  add(d: Dialog): void {
    this.byId.set(d.id, d);
    const held = this.byCallId.get(d.callId);
    if (held === undefined) {
      this.byCallId.set(d.callId, d);
    } else if (Array.isArray(held)) {
      held.push(d);
    } else {
      this.byCallId.set(d.callId, [held, d]);
    }
  }

  remove(d: Dialog): boolean {
    if (this.byId.get(d.id) !== d) {
      return false;
    }
    this.byId.delete(d.id);
    const held = this.byCallId.get(d.callId);
    if (held === d) {
      this.byCallId.delete(d.callId);
    } else if (Array.isArray(held)) {
      const rest = held.filter((x) => x !== d);
      this.byCallId.set(d.callId, rest.length === 1 ? rest[0]! : rest);
    }
    return true;
  }

  /** Dialogs of a Call-ID, optionally only the one whose caller has this From tag. */
  byCall(callId: string, fromTag?: string): Dialog[] {
    const held = this.byCallId.get(callId);
    const list = held === undefined ? [] : Array.isArray(held) ? held : [held];
    return fromTag === undefined ? list : list.filter((d) => d.caller.tag === fromTag);
  }

  values(): IterableIterator<Dialog> {
    return this.byId.values();
  }

  /** Dialogs per state group, for the gauges: early (states 1-2) and active (3-4). */
  counts(): { early: number; active: number } {
    let early = 0;
    let active = 0;
    for (const d of this.byId.values()) {
      if (d.state === DlgState.CONFIRMED || d.state === DlgState.CONFIRMED_NA) {
        active++;
      } else if (d.state !== DlgState.DELETED) {
        early++;
      }
    }
    return { early, active };
  }
}
