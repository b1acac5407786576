import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  CORE_ERRORS,
  CoreError,
  SIP_ERRORS,
  SipParseError,
  TandemError,
  isSipParseError,
} from '../../src/core/errors.js';
import type { CoreErrorCode, SipErrorCode } from '../../src/core/errors.js';

const DOC_PATH = new URL('../../docs/errors.md', import.meta.url);
const doc = readFileSync(DOC_PATH, 'utf8');

/** Any registry-style code: `SIP_ERR_…`, `TANDEM_ERR_…`, and prefixes added later. */
const CODE_PATTERN = /\b[A-Z][A-Z0-9]*_ERR_[A-Z0-9_]*[A-Z0-9]\b/g;

/** The cells of each table row whose first cell is a backticked code, keyed by that code. */
function docRows(markdown: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of markdown.split('\n')) {
    const match = /^\|\s*`([A-Z0-9_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (match) {
      rows.set(
        match[1]!,
        match[2]!.split('|').map((cell) => cell.trim()),
      );
    }
  }
  return rows;
}

const rows = docRows(doc);
const sipCodes = Object.keys(SIP_ERRORS) as SipErrorCode[];
const coreCodes = Object.keys(CORE_ERRORS) as CoreErrorCode[];
const registry = new Set<string>([...sipCodes, ...coreCodes]);

t.test(
  'docs/errors.md has a row for every SIP_ERRORS code with its status and reason',
  async (t) => {
    for (const code of sipCodes) {
      const cells = rows.get(code);
      if (!cells) {
        t.fail(`${code} has no row in docs/errors.md`);
        continue;
      }
      const { status, reason } = SIP_ERRORS[code];
      t.equal(cells[0], String(status), `${code}: documented SIP status`);
      t.equal(cells[1], reason, `${code}: documented default reason`);
      t.ok(cells[2], `${code}: documented when it is raised`);
    }
    t.end();
  },
);

t.test('docs/errors.md has a row for every CORE_ERRORS code with its message', async (t) => {
  for (const code of coreCodes) {
    const cells = rows.get(code);
    if (!cells) {
      t.fail(`${code} has no row in docs/errors.md`);
      continue;
    }
    t.equal(cells[0], `\`${CORE_ERRORS[code]}\``, `${code}: documented message template`);
    t.ok(cells[1], `${code}: documented when it is raised`);
  }
  t.end();
});

t.test('docs/errors.md names no code that the registry lacks', async (t) => {
  const named = new Set(doc.match(CODE_PATTERN) ?? []);
  t.ok(named.size >= registry.size, 'the doc names codes');
  for (const code of named) {
    t.ok(registry.has(code), `${code} is in src/core/errors.ts`);
  }
  for (const code of rows.keys()) {
    t.ok(registry.has(code), `table row ${code} is in src/core/errors.ts`);
  }
  t.end();
});

t.test('every SIP_ERRORS entry answers with a 4xx or 5xx status and a reason', async (t) => {
  for (const code of sipCodes) {
    const { status, reason } = SIP_ERRORS[code];
    t.ok(status >= 400 && status <= 599, `${code}: status ${status} is a 4xx or 5xx`);
    t.ok(reason.length > 0, `${code}: has a default reason`);
  }
  t.end();
});

t.test('SipParseError carries the code, the status and the default reason', async (t) => {
  const err = new SipParseError('SIP_ERR_VERSION');
  t.equal(err.code, 'SIP_ERR_VERSION');
  t.equal(err.status, 505);
  t.equal(err.reason, 'Version Not Supported');
  t.equal(err.message, 'SIP_ERR_VERSION: Version Not Supported');
  t.equal(err.name, 'SipParseError');
  t.type(err, SipParseError);
  t.type(err, TandemError);
  t.type(err, Error);
  t.ok(isSipParseError(err));
  t.end();
});

t.test('SipParseError replaces the default reason with one that names the problem', async (t) => {
  const err = new SipParseError('SIP_ERR_MISSING_HEADER', 'Missing Call-ID Header');
  t.equal(err.status, 400);
  t.equal(err.reason, 'Missing Call-ID Header');
  t.equal(err.message, 'SIP_ERR_MISSING_HEADER: Missing Call-ID Header');
  t.end();
});

t.test('isSipParseError tells registry parse errors from everything else', async (t) => {
  t.notOk(isSipParseError(new Error('boom')));
  t.notOk(isSipParseError(new CoreError('TANDEM_ERR_INVALID_STATE', 'x')));
  t.notOk(isSipParseError(new TandemError('SIP_ERR_VIA', 'look-alike')));
  t.notOk(isSipParseError({ code: 'SIP_ERR_VIA', status: 400, reason: 'Bad Via' }));
  t.notOk(isSipParseError(null));
  t.notOk(isSipParseError(undefined));
  t.end();
});

t.test('CoreError fills the message template with the detail', async (t) => {
  const err = new CoreError('TANDEM_ERR_INVALID_ARGUMENT', 'port must be 1..65535, got 0');
  t.equal(err.code, 'TANDEM_ERR_INVALID_ARGUMENT');
  t.equal(err.message, 'Invalid argument: port must be 1..65535, got 0');
  t.equal(err.name, 'CoreError');
  t.type(err, CoreError);
  t.type(err, TandemError);
  t.type(err, Error);
  t.end();
});

t.test('CoreError keeps the cause it was given', async (t) => {
  const cause = new Error('ENOENT');
  const err = new CoreError('TANDEM_ERR_INVALID_STATE', 'config not loaded', { cause });
  t.equal(err.message, 'Invalid state: config not loaded');
  t.equal(err.cause, cause);
  t.end();
});

t.test('every CORE_ERRORS template takes exactly one detail', async (t) => {
  for (const code of coreCodes) {
    t.equal(CORE_ERRORS[code].split('%s').length - 1, 1, `${code}: one %s placeholder`);
    const err = new CoreError(code, 'DETAIL');
    t.ok(err.message.includes('DETAIL'), `${code}: detail substituted`);
    t.notMatch(err.message, /%s/, `${code}: no placeholder left`);
  }
  t.end();
});
