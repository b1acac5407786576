import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { main, report, summarize } from '../../scripts/ci-summary.js';

/** Raw TAP as `tap --output-file` writes it (trimmed of timing and process details). */
const MIXED = `# Subtest: test/a.test.ts
    # Subtest: passes
        ok 1 - should be equal
        1..1
    ok 1 - passes # time=5.212ms

    # Subtest: fails
        not ok 1 - one is two
          ---
          diff: |
            -2
            +1
          ...

        1..1
    not ok 2 - fails # time=30.359ms
      ---
      source: |
        t.test('fails', async (t) => { t.equal(1, 2, 'one is two'); t.end(); });
      ...

    ok 3 - todo one # TODO later
    ok 4 - skipped # SKIP nope
    ok 5 - top-level assertion
    ok 6 - issue \\# 12 is fixed # time=1ms
    1..6
    # time=87.672ms
not ok 1 - test/a.test.ts # time=87.672ms
  ---
  exitCode: 1
  stack: |
    ok 9 - a line inside YAML is not a test
    not ok 10 - nor is this one
  ...

# Subtest: test/b.test.ts
    # Subtest: fine
        ok 1 - should be equal
        1..1
    ok 1 - fine # time=5.44ms

    not ok 2 - crash after a subtest
      ---
      tapCaught: unhandledRejection
      ...

    1..2
not ok 2 - test/b.test.ts # time=42.526ms

# Subtest: test/c.test.ts
    1..0 # no tests found
not ok 3 - test/c.test.ts # time=1507.799ms
  ---
  exitCode: 1
  ...

# Subtest: test/h.test.ts
    ok 1 - a
    1..1
not ok 4 - test/h.test.ts # time=15.765ms
  ---
  exitCode: 3
  ...

# Subtest: test/i.test.ts
    1..0 # no tests found
ok 5 - test/i.test.ts # SKIP no tests found

# Subtest: test/g.test.ts
    # Subtest: ok
        ok 1 - should be equal
        1..1
    ok 1 - ok # time=11.021ms
    1..1
ok 6 - test/g.test.ts # time=47.224ms
# { total: 13, pass: 7, fail: 5, todo: 1, skip: 2 }
`;

t.test('summarize counts the top-level tests of each file, not assertions', async (t) => {
  const s = summarize(MIXED);
  t.equal(s.passed, 6, 'passes, top-level assertion, issue #12, fine, a, ok');
  t.equal(s.failed, 4);
  t.same(s.failures, [
    'test/a.test.ts > fails',
    'test/b.test.ts > crash after a subtest',
    'test/c.test.ts',
    'test/h.test.ts (the file failed outside its tests)',
  ]);
  t.equal(s.skipped, 2, 'a skipped test and a file with no tests');
  t.equal(s.todo, 1);
  t.equal(s.bailedOut, false);
  t.end();
});

t.test('summarize counts a file cut short by a bail-out as one failure', async (t) => {
  const s = summarize(`# Subtest: test/g.test.ts
    ok 1 - fine
ok 1 - test/g.test.ts
# Subtest: test/e.test.ts
    # Subtest: bails
        ok 1 - should be equal
        Bail out! giving up
Bail out! giving up
`);
  t.equal(s.passed, 1);
  t.equal(s.failed, 1);
  t.same(s.failures, ['test/e.test.ts (did not finish)']);
  t.equal(s.bailedOut, true);
  t.end();
});

t.test('summarize counts a bail-out between files as one failure', async (t) => {
  const s = summarize(
    '# Subtest: test/g.test.ts\n    ok 1 - fine\nok 1 - test/g.test.ts\nBail out!\n',
  );
  t.equal(s.passed, 1);
  t.equal(s.failed, 1);
  t.same(s.failures, ['Bail out!']);
  t.end();
});

t.test('summarize finds nothing in an empty run', async (t) => {
  t.same(summarize(''), {
    passed: 0,
    failed: 0,
    skipped: 0,
    todo: 0,
    failures: [],
    bailedOut: false,
  });
  t.end();
});

t.test('report ends with "N passed, N failed" and passes only a clean run', async (t) => {
  const clean = report(summarize('# Subtest: x\n    ok 1 - y\nok 1 - x\n'), 0, true);
  t.same(clean, { lines: ['1 passed, 0 failed'], ok: true });

  const mixed = report(summarize(MIXED), 1, true);
  t.equal(mixed.ok, false);
  t.equal(mixed.lines.at(-1), '6 passed, 4 failed');
  t.ok(mixed.lines.includes('FAILED: test/a.test.ts > fails'));
  t.ok(mixed.lines.includes('(2 skipped, 1 todo: counted as neither)'));
  t.end();
});

t.test('report fails a run whose tests passed when tap exited non-zero', async (t) => {
  const r = report(summarize('# Subtest: x\n    ok 1 - y\nok 1 - x\n'), 1, true);
  t.equal(r.ok, false);
  t.equal(r.lines.at(-1), '1 passed, 0 failed');
  t.match(r.lines.at(-2), /^tap exited 1 although no test failed/);
  t.end();
});

t.test('report counts a run that wrote no TAP and exited non-zero as one failure', async (t) => {
  const r = report(summarize(''), 2, false);
  t.same(r, {
    lines: ['FAILED: tap exited 2 without writing any TAP', '0 passed, 1 failed'],
    ok: false,
  });
  t.end();
});

t.test('main reads the TAP file and returns the lines and the exit status', async (t) => {
  const dir = t.testdir({
    'results.tap': MIXED,
    'clean.tap': '# Subtest: x\n    ok 1 - y\nok 1 - x\n',
  });

  const failing = main([`${dir}/results.tap`, '1']);
  t.equal(failing.status, 1);
  t.equal(failing.stdout.trimEnd().split('\n').at(-1), '6 passed, 4 failed');

  t.same(main([`${dir}/clean.tap`]), { status: 0, stdout: '1 passed, 0 failed\n', stderr: '' });

  const missing = main([`${dir}/missing.tap`, '1']);
  t.equal(missing.status, 1);
  t.equal(missing.stdout.trimEnd().split('\n').at(-1), '0 passed, 1 failed');

  for (const args of [[], ['x.tap', 'one']]) {
    const usage = main(args);
    t.equal(usage.status, 2);
    t.match(usage.stderr, /^usage: /);
  }
  t.end();
});

t.test('the ci-summary command prints the lines and exits with the status', async (t) => {
  const script = fileURLToPath(new URL('../../scripts/ci-summary.ts', import.meta.url));
  const dir = t.testdir({ 'results.tap': MIXED });
  // The child uses this test's node flags (tap's TypeScript loader): compiled by a second loader
  // such as tsx, the same file would garble tap's coverage merge.
  const run = spawnSync(
    process.execPath,
    [...process.execArgv, script, `${dir}/results.tap`, '1'],
    { encoding: 'utf8' },
  );
  t.equal(run.status, 1);
  t.equal(run.stderr, '');
  t.equal(run.stdout.trimEnd().split('\n').at(-1), '6 passed, 4 failed');
  t.end();
});
