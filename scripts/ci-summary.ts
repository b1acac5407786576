/**
 * Counts a tap run for CI and prints `N passed, N failed` as its last line.
 *
 *   node --import tsx scripts/ci-summary.ts <raw-tap-file> [tap-exit-code]
 *
 * The raw TAP is what `tap --output-file` writes: one depth-0 subtest per test file, holding that
 * file's own test points one level down. The unit counted is a **top-level test of a file**: each
 * `t.test(...)` called at the top of a test file, and each assertion made outside any subtest.
 * Assertions inside a subtest roll up into it, so "passed" reads as "tests", not as the thousands
 * of `t.equal` calls (tap's own `# { total }` line counts those).
 *
 * - A `# SKIP` or `# TODO` test counts as neither passed nor failed; a line above the last says how
 *   many there were.
 * - A file that failed without any failing top-level test (it crashed while loading, timed out,
 *   exited non-zero, or reported nothing) counts as one failure, and so does a file that never
 *   finished (a bail-out). A file with no top-level tests counts as one test, passed or failed.
 * - A run that wrote no TAP at all but exited non-zero counts as one failure.
 * - A non-zero tap exit with nothing failed above (coverage under the .taprc floors, for instance)
 *   is reported on its own line and leaves the counts alone; `.ci/run` fails on tap's exit code.
 *
 * Exits 1 when anything failed or tap's exit code was non-zero, otherwise 0.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TapSummary {
  passed: number;
  failed: number;
  skipped: number;
  todo: number;
  /** `file > test` for every failure counted, in order. */
  failures: string[];
  bailedOut: boolean;
}

interface FileState {
  name: string;
  points: number;
  failed: number;
}

const POINT = /^(not )?ok\b(?:\s+\d+)?(?:\s*-)?\s?(.*)$/;

/** Splits `description # DIRECTIVE reason` at the first unescaped `#`. */
function directiveOf(rest: string): { description: string; directive: 'skip' | 'todo' | null } {
  for (let i = rest.indexOf('#'); i !== -1; i = rest.indexOf('#', i + 1)) {
    if (rest[i - 1] === '\\') {
      continue;
    }
    const description = rest.slice(0, i).trim();
    const word = /^#\s*(skip|todo)\b/i.exec(rest.slice(i));
    const directive = word ? (word[1]!.toLowerCase() as 'skip' | 'todo') : null;
    return { description, directive };
  }
  return { description: rest.trim(), directive: null };
}

/** Counts the raw TAP of a whole tap run (see the file comment for the rules). */
export function summarize(tap: string): TapSummary {
  const summary: TapSummary = {
    passed: 0,
    failed: 0,
    skipped: 0,
    todo: 0,
    failures: [],
    bailedOut: false,
  };
  let file: FileState | null = null;
  let yamlEnd: string | null = null;
  let lastIndent = -1;

  const count = (ok: boolean, directive: 'skip' | 'todo' | null, label: string): void => {
    if (directive === 'skip') {
      summary.skipped++;
    } else if (directive === 'todo') {
      summary.todo++;
    } else if (ok) {
      summary.passed++;
    } else {
      summary.failed++;
      summary.failures.push(label);
    }
  };

  for (const raw of tap.split('\n')) {
    const line = raw.trimEnd();
    if (yamlEnd !== null) {
      if (line === yamlEnd) {
        yamlEnd = null;
      }
      continue;
    }
    const indent = line.length - line.trimStart().length;
    const text = line.slice(indent);
    if (indent === lastIndent + 2 && text === '---') {
      yamlEnd = `${' '.repeat(indent)}...`;
      continue;
    }
    if (text.startsWith('Bail out!')) {
      summary.bailedOut = true;
      continue;
    }
    if (indent === 0 && text.startsWith('# Subtest: ')) {
      file = { name: text.slice('# Subtest: '.length), points: 0, failed: 0 };
      continue;
    }
    const point = POINT.exec(text);
    if (!point) {
      continue;
    }
    lastIndent = indent;
    if (indent !== 0 && indent !== 4) {
      continue;
    }
    const ok = point[1] === undefined;
    const { description, directive } = directiveOf(point[2]!);
    if (indent === 4) {
      if (file) {
        file.points++;
        if (!ok && directive === null) {
          file.failed++;
        }
      }
      count(ok, directive, `${file?.name ?? '(no file)'} > ${description}`);
      continue;
    }
    // A depth-0 point closes a test file.
    if (!file || file.points === 0) {
      count(ok, directive, description);
    } else if (!ok && directive === null && file.failed === 0) {
      count(false, null, `${description} (the file failed outside its tests)`);
    }
    file = null;
  }
  if (file) {
    count(false, null, `${file.name} (did not finish)`);
  } else if (summary.bailedOut && summary.failed === 0) {
    count(false, null, 'Bail out!');
  }
  return summary;
}

/** The lines `.ci/run` prints (the last one is always `N passed, N failed`) and the verdict. */
export function report(
  summary: TapSummary,
  tapExitCode: number,
  hadOutput: boolean,
): { lines: string[]; ok: boolean } {
  const failures = [...summary.failures];
  if (!hadOutput && tapExitCode !== 0) {
    failures.push(`tap exited ${tapExitCode} without writing any TAP`);
  }
  const failed = summary.failed + failures.length - summary.failures.length;
  const lines = failures.map((failure) => `FAILED: ${failure}`);
  if (summary.skipped > 0 || summary.todo > 0) {
    lines.push(`(${summary.skipped} skipped, ${summary.todo} todo: counted as neither)`);
  }
  if (tapExitCode !== 0 && failed === 0) {
    lines.push(
      `tap exited ${tapExitCode} although no test failed: coverage below the .taprc floors, or a runner error (see above)`,
    );
  }
  lines.push(`${summary.passed} passed, ${failed} failed`);
  return { lines, ok: failed === 0 && tapExitCode === 0 };
}

/** The command: reads the file, returns what to print and the exit status (written below). */
export function main(argv: string[]): { status: number; stdout: string; stderr: string } {
  const [path, exitArg = '0'] = argv;
  if (path === undefined || !/^\d+$/.test(exitArg)) {
    return {
      status: 2,
      stdout: '',
      stderr: 'usage: ci-summary.ts <raw-tap-file> [tap-exit-code]\n',
    };
  }
  const tapExitCode = Number(exitArg);
  const tap = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const { lines, ok } = report(summarize(tap), tapExitCode, tap.trim() !== '');
  return { status: ok ? 0 : 1, stdout: `${lines.join('\n')}\n`, stderr: '' };
}

const entry = process.argv[1];
if (entry !== undefined && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  const { status, stdout, stderr } = main(process.argv.slice(2));
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  process.exitCode = status;
}
