/**
 * Readiness sources behind `GET /ready`: the listeners register one at start, and later the
 * cluster (a replicated capability is synced) and modules register theirs. The node is ready
 * only when every source says so; load balancers and keepalived `track_script` poll it.
 */
import { CoreError } from './errors.js';

/** What a source reports: ready or not, and why not (shown in the 503 body). */
export interface ReadinessState {
  readonly ready: boolean;
  readonly detail?: string;
}

/** A source is asked on every check; it must answer quickly and never throw. */
export type ReadinessSource = () => boolean | ReadinessState;

export interface ReadinessReport {
  readonly ready: boolean;
  readonly sources: readonly {
    readonly name: string;
    readonly ready: boolean;
    readonly detail?: string;
  }[];
}

export class Readiness {
  private readonly sources = new Map<string, ReadinessSource>();

  /** Add a source; returns the function that removes it. Names are unique. */
  register(name: string, source: ReadinessSource): () => void {
    if (this.sources.has(name)) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `readiness source ${name} already exists`);
    }
    this.sources.set(name, source);
    return () => {
      if (this.sources.get(name) === source) {
        this.sources.delete(name);
      }
    };
  }

  /** Ask every source. A source that throws counts as not ready, with the error as detail. */
  check(): ReadinessReport {
    const sources = [...this.sources].map(([name, source]) => {
      let state: ReadinessState;
      try {
        const out = source();
        state = typeof out === 'boolean' ? { ready: out } : out;
      } catch (err) {
        state = { ready: false, detail: `check failed: ${(err as Error).message}` };
      }
      return state.detail === undefined
        ? { name, ready: state.ready }
        : { name, ready: state.ready, detail: state.detail };
    });
    return { ready: sources.length > 0 && sources.every((s) => s.ready), sources };
  }
}
