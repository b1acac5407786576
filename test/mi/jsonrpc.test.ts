/**
 * The JSON-RPC engine without HTTP: every rule of JSON-RPC 2.0 as OpenSIPS's mi_http applies it
 * (envelope errors, notifications, batches) and recipe selection.
 */
import t from 'tap';
import { deferredRuns, req, testEngine } from './helpers.js';

t.test('a call answers with result and the same id; aliases reach the command', async (t) => {
  const e = testEngine();
  t.same(await e.handle(req('echo', undefined, 7)), {
    jsonrpc: '2.0',
    result: { recipe: 0, params: {}, method: 'echo' },
    id: 7,
  });
  t.match(await e.handle(req('core:echo', [], 'abc')), {
    result: { recipe: 0, method: 'core:echo' },
    id: 'abc',
  });
  t.match(await e.handle(req('clusterer_shtag_set_active', ['vip/1'], null)), {
    result: 'OK',
    id: null,
  });
  t.match(await e.handle(req('clusterer:shtag_set_active', { tag: 'vip/1' })), { result: 'OK' });
  t.equal(e.stats.commands, 4);
});

t.test('-32700 for text that is not JSON, with a null id', async (t) => {
  const e = testEngine();
  for (const text of ['{', '', 'jsonrpc', '{"jsonrpc":"2.0",}']) {
    t.same(await e.handleText(text), {
      jsonrpc: '2.0',
      error: { code: -32700, message: 'Parse error' },
      id: null,
    });
  }
  t.match(await e.handleText('{"jsonrpc":"2.0","method":"echo","id":3}'), { result: {}, id: 3 });
});

t.test('-32600 for a request object that breaks the envelope rules', async (t) => {
  const e = testEngine();
  const invalid = [
    1,
    'text',
    null,
    { method: 'echo', id: 1 },
    { jsonrpc: '1.0', method: 'echo', id: 1 },
    { jsonrpc: '2.0', id: 1 },
    { jsonrpc: '2.0', method: 5, id: 1 },
    { jsonrpc: '2.0', method: 'echo', params: 'a', id: 1 },
    { jsonrpc: '2.0', method: 'echo', params: null, id: 1 },
    { jsonrpc: '2.0', method: 'echo', params: 3 },
  ];
  for (const r of invalid) {
    // The id is echoed when it is there and of a valid type.
    const id = typeof r === 'object' && r !== null && 'id' in r ? r.id : null;
    t.same(
      await e.handle(r),
      { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id },
      JSON.stringify(r),
    );
  }
  // The id is echoed when it is itself valid; an id of the wrong type is not.
  t.match(await e.handle({ jsonrpc: '2.0', params: [], id: 9 }), {
    error: { code: -32600 },
    id: 9,
  });
  t.match(await e.handle({ jsonrpc: '2.0', method: 'echo', id: { x: 1 } }), {
    error: { code: -32600 },
    id: null,
  });
  t.match(await e.handle({ jsonrpc: '2.0', method: 'echo', id: true }), {
    error: { code: -32600 },
    id: null,
  });
});

t.test('-32601 for an unknown method, with the name as data', async (t) => {
  const e = testEngine();
  t.same(await e.handle(req('nope')), {
    jsonrpc: '2.0',
    error: { code: -32601, message: 'Method not found', data: 'nope' },
    id: 1,
  });
  t.match(await e.handle(req('Echo')), { error: { code: -32601 } }, 'names are case-sensitive');
});

t.test('-32602 names the bad or missing parameter', async (t) => {
  const e = testEngine();
  const data = async (method: string, params?: unknown): Promise<unknown> => {
    const r = (await e.handle(req(method, params as never))) as {
      error?: { code: number; message: string; data?: unknown };
    };
    t.equal(r.error?.code, -32602, `${method} ${JSON.stringify(params)}`);
    t.equal(r.error?.message, 'Invalid params');
    return r.error?.data;
  };
  t.equal(await data('clusterer:shtag_set_active'), 'Too few parameters: missing tag');
  t.equal(await data('clusterer:shtag_set_active', []), 'Too few parameters: missing tag');
  t.equal(await data('clusterer:shtag_set_active', {}), 'Too few parameters: missing tag');
  t.equal(await data('echo', ['a', 1, 2]), 'Too many parameters: at most 2');
  t.equal(await data('test:types', ['1']), 'Too few parameters: missing n');
  t.equal(await data('test:opt', ['a', 1, 2]), 'Too many parameters: at most 2');
  t.equal(
    await data('clusterer:shtag_set_active', { tags: 'x' }),
    'Named parameters do not match: missing tag; unknown tags',
  );
  t.equal(
    await data('echo', { a: 'x', z: 1 }),
    'Named parameters do not match: unknown z',
    'the closest recipe is described',
  );
  t.equal(await data('echo', ['a', 'x']), 'b: expected an integer, got string "x"');
  t.equal(await data('echo', { c: 'maybe' }), 'c: expected a boolean, got string "maybe"');
  t.equal(await data('clusterer:shtag_set_active', [['x']]), 'tag: expected a string, got a list');
  t.equal(
    await data('test:stats', [{ a: 1 }]),
    'statistics: expected a string or a list of strings, got an object',
  );
  t.equal(
    await data('test:ambiguous', ['v']),
    'Ambiguous call, use named parameters instead',
    'OpenSIPS: two recipes with the same count',
  );
});

t.test('recipes: by count for positional params, by names for named ones', async (t) => {
  const e = testEngine();
  const recipe = async (params: unknown): Promise<unknown> =>
    ((await e.handle(req('echo', params as never))) as unknown as { result: { recipe: number } })
      .result.recipe;
  t.equal(await recipe(undefined), 0);
  t.equal(await recipe([]), 0);
  t.equal(await recipe({}), 0);
  t.equal(await recipe(['x']), 1);
  t.equal(await recipe(['x', 2]), 2);
  t.equal(await recipe({ a: 'x' }), 1);
  t.equal(await recipe({ b: 2, a: 'x' }), 2, 'named parameters in any order');
  t.equal(await recipe({ c: true }), 3, 'a namedOnly recipe by name');
  t.match(await e.handle(req('echo', [true])), {
    error: { code: -32602, data: 'a: expected a string, got boolean true' },
  });
  t.match(await e.handle(req('test:ambiguous', { y: 'v' })), { result: 1 });
  t.match(await e.handle(req('test:ambiguous', { x: 'v' })), { result: 0 });
});

t.test('values are converted to the declared types', async (t) => {
  const e = testEngine();
  t.same(await e.handle(req('test:types', ['5', '2.5', 'true', 7, [1], { k: 'v' }, null])), {
    jsonrpc: '2.0',
    result: { i: 5, n: 2.5, b: true, s: '7', arr: [1], obj: { k: 'v' }, any: null },
    id: 1,
  });
  t.match(await e.handle(req('test:types', [-3, 1e3, '0', 's', [], {}, 1])), {
    result: { i: -3, n: 1000, b: false },
  });
  t.match(await e.handle(req('test:types', [1, 1, 1, 's', [], {}, 1])), { result: { b: true } });
  t.match(await e.handle(req('test:types', [1, 1, 0, 's', [], {}, 1])), { result: { b: false } });
  for (const [bad, name] of [
    [[1.5, 1, true, 's', [], {}, 1], 'i'],
    [['1e3', 1, true, 's', [], {}, 1], 'i'],
    [[1, '', true, 's', [], {}, 1], 'n'],
    [[1, 'x', true, 's', [], {}, 1], 'n'],
    [[1, 1, true, true, [], {}, 1], 's'],
    [[1, 1, true, 's', {}, {}, 1], 'arr'],
    [[1, 1, true, 's', [], [], 1], 'obj'],
    [[1, 1, true, 's', [], null, 1], 'obj'],
  ] as const) {
    t.match(
      await e.handle(req('test:types', bad)),
      { error: { code: -32602, data: new RegExp(`^${name}: expected`) } },
      name,
    );
  }
  t.match(await e.handle(req('test:types', { i: 1, n: 1, b: true, s: 's', arr: [], obj: {} })), {
    error: { code: -32602, data: 'Named parameters do not match: missing any' },
  });
});

t.test('a trailing list gathers the remaining positional values', async (t) => {
  const e = testEngine();
  t.match(await e.handle(req('test:stats', ['core:', 'tm:'])), { result: ['core:', 'tm:'] });
  t.match(await e.handle(req('test:stats', [['core:', 'tm:']])), { result: ['core:', 'tm:'] });
  t.match(await e.handle(req('test:stats', ['all'])), { result: ['all'] });
  t.match(await e.handle(req('test:stats', { statistics: 'all' })), { result: ['all'] });
  t.match(await e.handle(req('test:stats', { statistics: [1, 'x'] })), { result: ['1', 'x'] });
});

t.test('optional parameters may be left out, positionally and by name', async (t) => {
  const e = testEngine();
  t.match(await e.handle(req('test:opt', ['x'])), { result: { a: 'x', b: null, has: false } });
  t.match(await e.handle(req('test:opt', ['x', '4'])), { result: { a: 'x', b: 4, has: true } });
  t.match(await e.handle(req('test:opt', { a: 'x', b: 2 })), { result: { b: 2 } });
  t.match(await e.handle(req('test:opt', { a: 'x', b: undefined })), {
    result: { has: false },
  });
});

t.test('command errors keep their own code, message and data', async (t) => {
  const e = testEngine();
  t.same(await e.handle(req('clusterer_shtag_set_active', ['nope'], 4)), {
    jsonrpc: '2.0',
    error: { code: 404, message: 'Cluster ID not found', data: { tag: 'nope' } },
    id: 4,
  });
  t.same(await e.handle(req('test:crash')), {
    jsonrpc: '2.0',
    error: { code: 500, message: 'Internal error', data: 'boom' },
    id: 1,
  });
  t.match(await e.handle(req('test:wrong_accessor', ['x'])), {
    error: { code: 500, data: /a is not a number/ },
  });
});

t.test('notifications run but are never answered, not even with an error', async (t) => {
  const e = testEngine();
  deferredRuns.length = 0;
  const deferred: (() => void)[] = [];
  t.equal(await e.handle({ jsonrpc: '2.0', method: 'test_later' }, deferred), null);
  t.equal(deferred.length, 1, 'the command ran');
  deferred[0]!();
  t.same(deferredRuns, ['test:later']);
  t.equal(await e.handle({ jsonrpc: '2.0', method: 'nope' }), null);
  t.equal(await e.handle({ jsonrpc: '2.0', method: 'test:crash', params: [] }), null);
  t.equal(await e.handle({ jsonrpc: '2.0', method: 'echo', params: [1, 2, 3] }), null);
});

t.test('batches: one answer per request, none for notifications', async (t) => {
  const e = testEngine();
  t.same(await e.handle([]), {
    jsonrpc: '2.0',
    error: { code: -32600, message: 'Invalid Request' },
    id: null,
  });
  t.same(await e.handle([1, 2]), [
    { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null },
    { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request' }, id: null },
  ]);
  t.equal(
    await e.handle([
      { jsonrpc: '2.0', method: 'echo' },
      { jsonrpc: '2.0', method: 'nope' },
    ]),
    null,
    'all notifications: nothing to answer',
  );
  t.match(
    await e.handle([
      req('echo', ['x'], 1),
      { jsonrpc: '2.0', method: 'echo' },
      req('nope', undefined, 2),
      [req('echo')],
      req('clusterer:shtag_set_active', ['vip/1'], 3),
    ]),
    [
      { result: { recipe: 1 }, id: 1 },
      { error: { code: -32601 }, id: 2 },
      { error: { code: -32600 }, id: null },
      { result: 'OK', id: 3 },
    ],
  );
  t.match(await e.handleText('[{"jsonrpc":"2.0","method":"echo","id":1},'), {
    error: { code: -32700 },
  });
});
