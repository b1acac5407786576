/** A registry with commands that exercise every recipe and error rule. */
import { silentLogger } from '../../src/core/logger.js';
import { JsonRpcEngine } from '../../src/mi/jsonrpc.js';
import { MiRegistry } from '../../src/mi/registry.js';
import { MiError, type MiValue } from '../../src/module/index.js';

export function testRegistry(): MiRegistry {
  const r = new MiRegistry();
  r.add('core', {
    name: 'echo',
    description: 'echoes its recipe and parameters',
    recipes: [
      { params: [] },
      { params: [{ name: 'a', type: 'string' }] },
      {
        params: [
          { name: 'a', type: 'string' },
          { name: 'b', type: 'integer' },
        ],
      },
      { params: [{ name: 'c', type: 'boolean' }], namedOnly: true },
    ],
    handler: (p, ctx) => ({ recipe: ctx.recipe, params: p.values, method: ctx.method }),
  });
  r.add('clusterer', {
    name: 'shtag_set_active',
    description: 'activates a sharing tag',
    recipes: [{ params: [{ name: 'tag', type: 'string' }] }],
    handler: (p) => {
      if (p.string('tag') !== 'vip/1') {
        throw new MiError(404, 'Cluster ID not found', { tag: p.string('tag') });
      }
      return undefined;
    },
  });
  r.add('test', {
    name: 'crash',
    description: 'throws a plain error',
    handler: () => {
      throw new Error('boom');
    },
  });
  r.add('test', {
    name: 'ambiguous',
    description: 'two one-parameter recipes',
    recipes: [
      { params: [{ name: 'x', type: 'string' }] },
      { params: [{ name: 'y', type: 'string' }] },
    ],
    handler: (_p, ctx) => ctx.recipe,
  });
  r.add('test', {
    name: 'stats',
    description: 'a trailing list',
    recipes: [{ params: [{ name: 'statistics', type: 'string[]' }] }],
    handler: (p) => [...p.strings('statistics')],
  });
  r.add('test', {
    name: 'opt',
    description: 'an optional parameter',
    recipes: [
      {
        params: [
          { name: 'a', type: 'string' },
          { name: 'b', type: 'number', optional: true },
        ],
      },
    ],
    handler: (p) => ({ a: p.string('a'), b: p.optionalNumber('b') ?? null, has: p.has('b') }),
  });
  r.add('test', {
    name: 'types',
    description: 'one parameter of each type',
    recipes: [
      {
        params: [
          { name: 'i', type: 'integer' },
          { name: 'n', type: 'number' },
          { name: 'b', type: 'boolean' },
          { name: 's', type: 'string' },
          { name: 'arr', type: 'array' },
          { name: 'obj', type: 'object' },
          { name: 'any', type: 'any' },
        ],
      },
    ],
    handler: (p) => ({
      i: p.number('i'),
      n: p.number('n'),
      b: p.boolean('b'),
      s: p.string('s'),
      arr: p.value('arr') ?? null,
      obj: p.value('obj') ?? null,
      any: p.value('any') ?? null,
    }),
  });
  r.add('test', {
    name: 'wrong_accessor',
    description: 'asks for a parameter as the wrong type',
    recipes: [{ params: [{ name: 'a', type: 'string' }] }],
    handler: (p) => p.number('a'),
  });
  r.add('test', {
    name: 'later',
    description: 'defers work until after the answer',
    handler: (_p, ctx) => {
      ctx.afterResponse(() => {
        deferredRuns.push(ctx.command);
      });
      return 'soon';
    },
  });
  return r;
}

export const deferredRuns: string[] = [];

export function testEngine(): JsonRpcEngine {
  return new JsonRpcEngine({ registry: testRegistry(), logger: silentLogger });
}

/** A request object. */
export function req(method: string, params?: MiValue, id: MiValue = 1): Record<string, MiValue> {
  const out: Record<string, MiValue> = { jsonrpc: '2.0', method };
  if (params !== undefined) {
    out['params'] = params;
  }
  out['id'] = id;
  return out;
}
