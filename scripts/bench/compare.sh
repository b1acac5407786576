#!/usr/bin/env bash
# Compare the parser hot paths of a git revision (A, default main) with the working tree (B):
#   scripts/bench/compare.sh [REV] [bench...]
# Both are compiled with tsc into temporary folders and run interleaved in one process by
# scripts/bench/ab.ts, so machine drift affects both alike. Read the `ratio` (B/A) field.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rev="${1:-main}"
shift || true
tmp="$(mktemp -d)"
trap 'git worktree remove --force "$tmp/tree" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

tsc_out() { # <project dir> <out dir>
  (cd "$1" && npx --no-install tsc -p tsconfig.json --noEmit false --declaration false \
    --sourceMap false --outDir "$2")
  printf '{"type":"module"}\n' >"$2/package.json"
  ln -s "$PWD/node_modules" "$2/node_modules"
}

git worktree add --detach "$tmp/tree" "$rev" >/dev/null
ln -s "$PWD/node_modules" "$tmp/tree/node_modules"
tsc_out "$tmp/tree" "$tmp/a"
tsc_out "$PWD" "$tmp/b"
node "$tmp/b/scripts/bench/ab.js" "$tmp/a" "$tmp/b" "$@"
