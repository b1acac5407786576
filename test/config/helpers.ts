/** Helpers for the config tests: temp config files and capturing a ConfigError. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { ConfigError } from '../../src/config/index.js';

/** A fresh directory in os.tmpdir(), removed when the test ends. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Write `text` as `name` in a fresh temp directory and return its path. */
export function writeConfig(t: Test, text: string, name = 'tandem.yaml'): string {
  const file = join(tempDir(t), name);
  writeFileSync(file, text);
  return file;
}

/** The ConfigError `fn` throws; fails the test (and returns null) when it throws nothing else. */
export function configError(t: Test, fn: () => unknown): ConfigError | null {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      return err;
    }
    t.fail(`expected a ConfigError, got ${String(err)}`);
    return null;
  }
  t.fail('expected a ConfigError, nothing was thrown');
  return null;
}

/** The message lines of a ConfigError without the registry prefix. */
export function problems(err: ConfigError | null): string[] {
  return err === null ? [] : err.message.replace(/^Invalid configuration: /, '').split('\n');
}
