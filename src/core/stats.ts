/**
 * The statistics registry: every counter and gauge Tandem exposes, named the OpenSIPS way
 * (`group:name`, e.g. `core:rcv_requests`, `tm:inuse_transactions`). The layers keep their own
 * plain counters (a property store on the hot path); the registry only holds a way to read each
 * one and, for counters, a way to zero it. MI `get_statistics` and `/metrics` both read through
 * here, so nothing is counted twice.
 *
 * Reset follows OpenSIPS: `reset_statistics` zeroes counters ("incremental" statistics) and leaves
 * gauges ("non-incremental": a value that goes up and down, such as transactions in use) alone.
 */
import { CoreError } from './errors.js';

/** A counter only goes up (until reset); a gauge is a level that goes up and down. */
export type StatKind = 'counter' | 'gauge';

/** How the registry reaches one statistic. */
export interface StatSource {
  readonly kind: StatKind;
  /** One line for `/metrics` HELP and the docs. */
  readonly description: string;
  readonly read: () => number;
  /** Zero the value. Only counters are reset; a counter without this cannot be reset. */
  readonly reset?: () => void;
}

/** One registered statistic. */
export interface StatEntry extends StatSource {
  readonly group: string;
  readonly name: string;
  /** `group:name`, as MI prints it. */
  readonly fullName: string;
  /** True when `reset_statistics` zeroes it (a counter with a reset). */
  readonly resettable: boolean;
}

/** A value the registry stores for a statistic that has no field elsewhere (module stats). */
export interface StatCell {
  value: number;
}

/** What {@link StatsRegistry.fields} needs to know about an object of counters. */
export interface FieldOptions<K extends string> {
  /** Fields that are levels, not counts (never reset). */
  gauges?: readonly K[];
  /** Descriptions per field; a generic one is used for fields not listed. */
  descriptions?: Partial<Record<K, string>>;
}

const NAME = /^[A-Za-z0-9_]+$/;

export class StatsRegistry {
  private readonly byFullName = new Map<string, StatEntry>();
  private readonly byName = new Map<string, StatEntry[]>();
  private readonly groupMap = new Map<string, StatEntry[]>();
  private readonly listeners: ((entry: StatEntry) => void)[] = [];

  /**
   * Add one statistic. Group and name are `[A-Za-z0-9_]+` (so `/metrics` can use them as they
   * are); a name already taken in the group is a programmer error.
   */
  register(group: string, name: string, source: StatSource): StatEntry {
    if (!NAME.test(group) || !NAME.test(name)) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_ARGUMENT',
        `statistic names are [A-Za-z0-9_]+, got "${group}:${name}"`,
      );
    }
    const fullName = `${group}:${name}`;
    const key = fullName.toLowerCase();
    if (this.byFullName.has(key)) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `statistic ${fullName} already exists`);
    }
    const entry: StatEntry = {
      group,
      name,
      fullName,
      kind: source.kind,
      description: source.description,
      read: source.read,
      resettable: source.kind === 'counter' && source.reset !== undefined,
      ...(source.reset !== undefined ? { reset: source.reset } : {}),
    };
    this.byFullName.set(key, entry);
    push(this.byName, name.toLowerCase(), entry);
    push(this.groupMap, group.toLowerCase(), entry);
    for (const listener of this.listeners) {
      listener(entry);
    }
    return entry;
  }

  /**
   * Register every numeric field of `obj` as `group:field`, read live from the object. Counters
   * reset by writing 0 into the field, which is how the owning layer keeps counting from there.
   */
  fields<T extends object, K extends Extract<keyof T, string>>(
    group: string,
    obj: T,
    keys: readonly K[],
    options: FieldOptions<K> = {},
  ): void {
    const gauges = new Set<string>(options.gauges ?? []);
    const record = obj as Record<string, unknown>;
    for (const key of keys) {
      if (typeof record[key] !== 'number') {
        throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `${group}.${key} is not a number`);
      }
      const kind: StatKind = gauges.has(key) ? 'gauge' : 'counter';
      const description = options.descriptions?.[key] ?? `${group} ${key.replaceAll('_', ' ')}`;
      this.register(group, key, {
        kind,
        description,
        read: () => record[key] as number,
        ...(kind === 'counter'
          ? {
              reset: () => {
                record[key] = 0;
              },
            }
          : {}),
      });
    }
  }

  /** A statistic whose value the registry keeps; the owner updates `cell.value`. */
  cell(group: string, name: string, kind: StatKind, description: string): StatCell {
    const cell: StatCell = { value: 0 };
    this.register(group, name, {
      kind,
      description,
      read: () => cell.value,
      ...(kind === 'counter'
        ? {
            reset: () => {
              cell.value = 0;
            },
          }
        : {}),
    });
    return cell;
  }

  /**
   * Resolve one name the way OpenSIPS `get_statistics` does (case-insensitive): `all`, a whole
   * group written `group:`, one statistic as `group:name`, or a bare `name` (every group that
   * has it). Returns an empty list when nothing matches.
   */
  lookup(query: string): readonly StatEntry[] {
    const q = query.toLowerCase();
    if (q === 'all') {
      return [...this.byFullName.values()];
    }
    if (q.length > 1 && q.endsWith(':')) {
      return this.groupMap.get(q.slice(0, -1)) ?? [];
    }
    if (q.includes(':')) {
      const entry = this.byFullName.get(q);
      return entry === undefined ? [] : [entry];
    }
    return this.byName.get(q) ?? [];
  }

  /** The value of `group:name`, or undefined when there is no such statistic. */
  value(fullName: string): number | undefined {
    return this.byFullName.get(fullName.toLowerCase())?.read();
  }

  /** Every statistic, in registration order. */
  entries(): readonly StatEntry[] {
    return [...this.byFullName.values()];
  }

  /** Group names, in registration order. */
  groups(): readonly string[] {
    return [...this.groupMap.values()].map((list) => list[0]!.group);
  }

  /** Zero `entry` if it is a resettable counter; returns whether it was reset. */
  reset(entry: StatEntry): boolean {
    if (!entry.resettable) {
      return false;
    }
    entry.reset?.();
    return true;
  }

  /** Be told of every statistic registered from now on (the metrics exporter follows along). */
  onRegister(listener: (entry: StatEntry) => void): void {
    this.listeners.push(listener);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) {
    map.set(key, [value]);
  } else {
    list.push(value);
  }
}
