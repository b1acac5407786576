/**
 * The manifest installed as the core installs it: parameters, the secret warning, MI commands
 * over the file store (passwords become HA1s), statistics, script functions, destroy.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { EventBus } from '../../../src/core/events.js';
import { LogLevels } from '../../../src/core/log-levels.js';
import { silentLogger } from '../../../src/core/logger.js';
import { Readiness } from '../../../src/core/readiness.js';
import { StatsRegistry } from '../../../src/core/stats.js';
import { MiRegistry } from '../../../src/mi/registry.js';
import { installModules, MiParams, type MiCallContext } from '../../../src/module/index.js';
import auth, { AUTH_CODES } from '../index.js';
import { answer, fakeCtx, request, tempDir } from './helpers.js';

const CALL: MiCallContext = {
  method: 'x',
  command: 'x',
  recipe: 0,
  id: 1,
  logger: silentLogger,
  afterResponse: (fn) => {
    fn();
  },
};

async function install(params: Record<string, unknown>, dataDir: string) {
  const r = {
    commands: new MiRegistry(),
    stats: new StatsRegistry(),
    events: new EventBus(),
    loggers: new LogLevels(silentLogger),
    readiness: new Readiness(),
    params: { auth: params },
    dataDir,
    wallTime: () => 1_700_000_000_000,
  };
  const installed = await installModules([auth()], r);
  const mi = async (name: string, values: Record<string, string> = {}) =>
    r.commands.get(name)!.handler(new MiParams(values), CALL);
  return { r, installed, mi };
}

t.test('installed: MI adds HA1s, the script authorizes, stats count', async (t) => {
  const dir = tempDir(t);
  const { r, installed, mi } = await install({ secret: 'x'.repeat(20), algorithms: ['MD5'] }, dir);
  t.teardown(() => installed.destroy());
  t.equal(
    await mi('auth:subscriber_add', { user: 'alice', realm: 'sip.test', password: 'pw' }),
    undefined,
  );
  const file = readFileSync(join(dir, 'auth', 'subscribers.yaml'), 'utf8');
  t.notMatch(file, /\bpw\b/);
  t.same(await mi('auth_subscriber_list'), {
    Subscribers: [{ user: 'alice', realm: 'sip.test', algorithms: ['SHA-256', 'MD5'] }],
  });
  t.same(await mi('auth:subscriber_list', { realm: 'none.test' }), { Subscribers: [] });
  t.equal(r.stats.value('auth:subscribers'), 1);

  const fns = installed.scriptFunctions;
  const call = (name: string, ...args: unknown[]) =>
    (fns.get(name)!.impl as (...a: unknown[]) => unknown)(...args);
  const first = fakeCtx(request('REGISTER', 'sip:sip.test'));
  t.equal(call('www_authorize', first), AUTH_CODES.NO_CREDENTIALS);
  t.ok(call('www_challenge', first));
  const value = first.replies[0]!.headers[0]![1];
  const ctx = fakeCtx(
    request('REGISTER', 'sip:sip.test', [
      `Authorization: ${answer(value, { user: 'alice', password: 'pw', method: 'REGISTER', uri: 'sip:sip.test' })}`,
    ]),
  );
  t.equal(call('www_authorize', ctx), AUTH_CODES.AUTHORIZED);
  t.same(call('auth_user', ctx), { user: 'alice', realm: 'sip.test', algorithm: 'MD5' });
  t.ok(call('consume_credentials', ctx));
  t.notOk(ctx.msg.has('authorization'));
  const proxyCtx = fakeCtx(request('INVITE', 'sip:bob@sip.test'));
  t.equal(call('proxy_authorize', proxyCtx), AUTH_CODES.NO_CREDENTIALS);
  t.ok(call('proxy_challenge', proxyCtx, 'sip.test', 'auth'));
  t.equal(proxyCtx.replies[0]!.code, 407);
  t.equal(r.stats.value('auth:auth_successes'), 1);
  t.equal(r.stats.value('auth:challenges'), 2);
  t.equal(r.stats.value('auth:nc_entries'), 1);
  for (const name of [
    'auth_failures',
    'stale_nonces',
    'nc_replays',
    'bad_credentials',
    'store_errors',
  ]) {
    t.equal(r.stats.value(`auth:${name}`), 0, name);
  }
  for (const e of r.stats.lookup('auth:')) {
    if (e.resettable) {
      r.stats.reset(e);
    }
  }
  t.equal(r.stats.value('auth:auth_successes'), 0, 'reset');

  await t.rejects(mi('auth:subscriber_rm', { user: 'nobody', realm: 'sip.test' }), {
    code: 404,
  });
  await t.rejects(mi('auth:subscriber_add', { user: 'a', realm: 'r', password: '' }), {
    code: 400,
  });
  await t.rejects(mi('auth:subscriber_add', { user: '', realm: 'r', password: 'p' }), {
    code: 400,
  });
  await t.rejects(mi('auth:subscriber_add', { user: 'a\n', realm: 'r', password: 'p' }), {
    code: 400,
  });
  t.equal(await mi('auth:subscriber_rm', { user: 'alice', realm: 'sip.test' }), undefined);
  t.same(await mi('auth:subscriber_reload'), { Subscribers: 0 });
  // A broken file: reload answers 500 naming it.
  writeFileSync(join(dir, 'auth', 'subscribers.yaml'), 'subscribers: [\n');
  await t.rejects(mi('auth:subscriber_reload'), { code: 500, message: /not valid YAML/ });
});

t.test('parameters are checked; without a secret a random one is used', async (t) => {
  const dir = tempDir(t);
  await t.rejects(install({ algorithms: ['SHA-512'] }, dir), { code: 'TANDEM_ERR_CONFIG' });
  await t.rejects(install({ secret: 'short' }, dir), /modules\.auth\.secret/);
  await t.rejects(install({ algorithms: ['MD5', 'MD5'] }, dir), /listed twice/);
  await t.rejects(install({ unknown: 1 }, dir), { code: 'TANDEM_ERR_CONFIG' });
  const { installed } = await install({}, dir);
  await installed.destroy();
  // The file backend's path can be set; a broken file fails the start.
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'subscribers: 5\n');
  await t.rejects(install({ file: bad }, dir), /auth: init failed: .*bad\.yaml/);
});

t.test('used before init: the script function says so', async (t) => {
  const m = auth();
  const fn = m.script.www_authorize as (...a: unknown[]) => unknown;
  t.throws(() => fn(fakeCtx(request('REGISTER', 'sip:sip.test'))), /used before init/);
  await t.rejects(
    Promise.resolve(m.mi[0]!.handler(new MiParams({ user: 'a', realm: 'r', password: 'p' }), CALL)),
    { code: 500, message: /not open/ },
  );
});
