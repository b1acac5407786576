/**
 * The parameters a handler receives: already matched to a recipe and converted to the declared
 * types by the JSON-RPC engine, so the accessors only pick them out. Asking for a parameter the
 * recipe does not declare, or with another type, is a bug in the handler (answered 500).
 */
import { CoreError } from '../core/errors.js';
import type { MiValue } from './mi-types.js';

export class MiParams {
  /** The parameters by name (positional ones are named after the recipe). */
  readonly values: Readonly<Record<string, MiValue>>;

  constructor(values: Readonly<Record<string, MiValue>>) {
    this.values = values;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.values, name);
  }

  string(name: string): string {
    return this.typed(name, 'string', (v): v is string => typeof v === 'string');
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : undefined;
  }

  number(name: string): number {
    return this.typed(name, 'number', (v): v is number => typeof v === 'number');
  }

  optionalNumber(name: string): number | undefined {
    return this.has(name) ? this.number(name) : undefined;
  }

  boolean(name: string): boolean {
    return this.typed(name, 'boolean', (v): v is boolean => typeof v === 'boolean');
  }

  strings(name: string): readonly string[] {
    return this.typed(
      name,
      'string[]',
      (v): v is readonly string[] => Array.isArray(v) && v.every((s) => typeof s === 'string'),
    );
  }

  /** Any parameter, as it came (for `any`, `array` and `object` parameters). */
  value(name: string): MiValue | undefined {
    return this.values[name];
  }

  private typed<T extends MiValue>(name: string, type: string, ok: (v: MiValue) => v is T): T {
    const v = this.values[name];
    if (v === undefined || !ok(v)) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_STATE',
        `MI parameter ${name} is not a ${type} (the handler and its recipe disagree)`,
      );
    }
    return v;
  }
}
