#!/usr/bin/env node
// The `tandem-cli` command (package.json "bin"): runs src/cli/main.ts from the sources, so it
// works from a clean clone after `npm install`, without a build. When this Node already loads
// TypeScript (a test runner's loader, `node --import tsx`), that loader is used; otherwise tsx is
// registered here.
const entry = new URL('../src/cli/main.ts', import.meta.url).href;
let cli;
try {
  cli = await import(entry);
} catch (err) {
  if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') {
    throw err;
  }
  const { register } = await import('tsx/esm/api');
  register();
  // A new URL: the failed import above stays cached under the plain one.
  cli = await import(`${entry}?tsx`);
}
process.exitCode = await cli.run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
