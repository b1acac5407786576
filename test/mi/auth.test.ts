/** MI token loading (file, environment) and the constant-time bearer check. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { BearerAuth, loadToken } from '../../src/mi/auth.js';

t.test('a token from a file (trimmed) or from an environment variable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-mi-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'token');
  writeFileSync(file, '  abc123\n');
  t.equal(loadToken({ token_file: file }), 'abc123');
  t.equal(loadToken({ token_env: 'MI_TOKEN' }, { MI_TOKEN: 'from-env' }), 'from-env');
  t.equal(loadToken({}), null);
  t.throws(() => loadToken({ token_env: 'MI_TOKEN' }, {}), {
    code: 'TANDEM_ERR_CONFIG',
    message: /mi\.token_env \(MI_TOKEN\): the token is empty/,
  });
  writeFileSync(file, '\n');
  t.throws(() => loadToken({ token_file: file }), /the token is empty/);
  t.throws(() => loadToken({ token_file: join(dir, 'missing') }), {
    code: 'TANDEM_ERR_CONFIG',
    message: /mi\.token_file .*missing.*: cannot read/,
  });
});

t.test('the bearer check accepts only the token, in any case of the scheme', async (t) => {
  const auth = new BearerAuth('tok');
  t.ok(auth.check('Bearer tok'));
  t.ok(auth.check('BEARER tok'));
  t.notOk(auth.check(undefined));
  t.notOk(auth.check(''));
  t.notOk(auth.check('Bearer'));
  t.notOk(auth.check('Bearer to'));
  t.notOk(auth.check('Bearer tok tok'));
  t.notOk(auth.check('Basic tok'));
  t.notOk(auth.check('tok'));
});
