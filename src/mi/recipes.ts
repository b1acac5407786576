/**
 * Recipe selection and parameter conversion, following OpenSIPS's MI (`get_cmd_recipe` in
 * mi/mi.c):
 *
 * - No parameters (absent, `[]` or `{}`): the first recipe without required parameters.
 * - Positional (an array): the recipe whose parameter count fits. Two recipes that fit are an
 *   ambiguous call (OpenSIPS: "Ambiguous call, use named parameters instead").
 * - Named (an object): the first recipe that declares every given name and is given every
 *   required one ("Named parameters do not match" otherwise).
 *
 * Tandem adds optional parameters (a recipe fits a range of counts), recipes that are chosen only
 * by name (`namedOnly`), and a trailing array parameter that gathers the remaining positional
 * values, so `get_statistics core: tm:` means `{"statistics": ["core:", "tm:"]}`.
 */
import type { MiParamSpec, MiParamType, MiRecipe, MiValue } from '../module/mi-types.js';

export type Selection =
  | { readonly ok: true; readonly recipe: number; readonly values: Record<string, MiValue> }
  | { readonly ok: false; readonly data: string };

type JsonObject = { readonly [key: string]: MiValue | undefined };
type Params = readonly MiValue[] | JsonObject | undefined;

/** Choose the recipe `params` call and convert each value to its declared type. */
export function selectRecipe(recipes: readonly MiRecipe[], params: Params): Selection {
  const named =
    params !== undefined && !Array.isArray(params) ? definedEntries(params as JsonObject) : null;
  const positional = Array.isArray(params) ? (params as readonly MiValue[]) : null;
  if ((named === null || named.length === 0) && (positional === null || positional.length === 0)) {
    const i = recipes.findIndex((r) => required(r.params) === 0);
    if (i < 0) {
      return { ok: false, data: `Too few parameters: missing ${firstRequired(recipes)}` };
    }
    return { ok: true, recipe: i, values: {} };
  }
  return positional !== null ? byPosition(recipes, positional) : byName(recipes, named ?? []);
}

function byPosition(recipes: readonly MiRecipe[], values: readonly MiValue[]): Selection {
  const n = values.length;
  const usable = recipes.map((r, i) => ({ r, i })).filter(({ r }) => r.namedOnly !== true);
  const exact = usable.filter(({ r }) => required(r.params) <= n && n <= r.params.length);
  const gathering = usable.filter(({ r }) => gathers(r) && n > r.params.length);
  const fits = exact.length > 0 ? exact : gathering;
  if (fits.length > 1) {
    return { ok: false, data: 'Ambiguous call, use named parameters instead' };
  }
  const fit = fits[0];
  if (fit === undefined) {
    const short = usable.find(({ r }) => required(r.params) > n);
    if (short !== undefined) {
      return { ok: false, data: `Too few parameters: missing ${short.r.params[n]!.name}` };
    }
    const most = Math.max(0, ...usable.map(({ r }) => r.params.length));
    return { ok: false, data: `Too many parameters: at most ${most}` };
  }
  const specs = fit.r.params;
  const out: [MiParamSpec, MiValue][] = [];
  specs.forEach((spec, k) => {
    if (k === specs.length - 1 && n > specs.length) {
      out.push([spec, values.slice(k)]);
    } else if (k < n) {
      out.push([spec, values[k]!]);
    }
  });
  return convert(fit.i, out);
}

function byName(
  recipes: readonly MiRecipe[],
  given: readonly (readonly [string, MiValue])[],
): Selection {
  const names = given.map(([k]) => k);
  let best: { missing: string[]; unknown: string[]; score: number } | null = null;
  for (const [i, r] of recipes.entries()) {
    const declared = new Set(r.params.map((p) => p.name));
    const unknown = names.filter((k) => !declared.has(k));
    const missing = r.params.filter((p) => p.optional !== true && !names.includes(p.name));
    if (unknown.length === 0 && missing.length === 0) {
      const byKey = new Map(given);
      const out: [MiParamSpec, MiValue][] = [];
      for (const spec of r.params) {
        const v = byKey.get(spec.name);
        if (v !== undefined) {
          out.push([spec, v]);
        }
      }
      return convert(i, out);
    }
    const score = names.length - unknown.length;
    if (best === null || score > best.score) {
      best = { missing: missing.map((p) => p.name), unknown, score };
    }
  }
  const parts: string[] = [];
  if (best !== null && best.missing.length > 0) {
    parts.push(`missing ${best.missing.join(', ')}`);
  }
  if (best !== null && best.unknown.length > 0) {
    parts.push(`unknown ${best.unknown.join(', ')}`);
  }
  return { ok: false, data: `Named parameters do not match: ${parts.join('; ')}` };
}

function convert(recipe: number, pairs: readonly [MiParamSpec, MiValue][]): Selection {
  const values: Record<string, MiValue> = {};
  for (const [spec, raw] of pairs) {
    const v = coerce(raw, spec.type);
    if (v === undefined) {
      return {
        ok: false,
        data: `${spec.name}: expected ${describeType(spec.type)}, got ${describeValue(raw)}`,
      };
    }
    values[spec.name] = v;
  }
  return { ok: true, recipe, values };
}

const INTEGER = /^[+-]?\d+$/;

/** The value converted to `type`, or undefined when it cannot be. */
export function coerce(v: MiValue, type: MiParamType): MiValue | undefined {
  switch (type) {
    case 'any':
      return v;
    case 'string':
      return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
    case 'integer': {
      const n = typeof v === 'string' && INTEGER.test(v.trim()) ? Number(v) : v;
      return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
    }
    case 'number': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
    }
    case 'boolean':
      if (typeof v === 'boolean') {
        return v;
      }
      if (v === 'true' || v === '1' || v === 1) {
        return true;
      }
      return v === 'false' || v === '0' || v === 0 ? false : undefined;
    case 'string[]': {
      const list = Array.isArray(v) ? (v as readonly MiValue[]) : [v];
      const out = list.map((item) => coerce(item, 'string'));
      return out.every((s) => typeof s === 'string') ? out : undefined;
    }
    case 'array':
      return Array.isArray(v) ? v : undefined;
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  }
}

function describeType(type: MiParamType): string {
  switch (type) {
    case 'string[]':
      return 'a string or a list of strings';
    case 'integer':
      return 'an integer';
    case 'array':
    case 'object':
      return `an ${type}`;
    case 'any':
      return 'a value';
    case 'boolean':
    case 'number':
    case 'string':
      return `a ${type}`;
  }
}

function describeValue(v: MiValue): string {
  if (v === null) {
    return 'null';
  }
  if (Array.isArray(v)) {
    return 'a list';
  }
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function required(params: readonly MiParamSpec[]): number {
  return params.filter((p) => p.optional !== true).length;
}

function gathers(r: MiRecipe): boolean {
  const last = r.params.at(-1);
  return last !== undefined && (last.type === 'string[]' || last.type === 'array');
}

function firstRequired(recipes: readonly MiRecipe[]): string {
  return recipes[0]?.params.find((p) => p.optional !== true)?.name ?? 'parameters';
}

function definedEntries(obj: JsonObject): (readonly [string, MiValue])[] {
  return Object.entries(obj).filter((e): e is [string, MiValue] => e[1] !== undefined);
}
