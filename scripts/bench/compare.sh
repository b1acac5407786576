#!/usr/bin/env bash
# Compare the parser hot paths of a git revision (A, default main) with the working tree (B):
#   scripts/bench/compare.sh [REV] [bench...]
# Both are transpiled with esbuild (the message layer, core/errors and the fixtures only, so
# work in progress elsewhere in the tree cannot break the build) and run interleaved in one
# process by scripts/bench/ab.ts. Read the `ratio` (B/A) field.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"
rev="${1:-main}"
shift || true
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

build() { # <tree> <out dir>
  (cd "$1" && "$root/node_modules/.bin/esbuild" $(find src/sip -name '*.ts') src/core/errors.ts \
    test/fixtures/messages.ts --outbase=. --outdir="$2" --format=esm --platform=node \
    --target=node20 --log-level=warning)
  printf '{"type":"module"}\n' >"$2/package.json"
}

mkdir -p "$tmp/tree"
git archive "$rev" src/sip src/core/errors.ts test/fixtures | tar -x -C "$tmp/tree"
build "$tmp/tree" "$tmp/a"
build "$root" "$tmp/b"
"$root/node_modules/.bin/esbuild" scripts/bench/ab.ts --outfile="$tmp/ab.mjs" --format=esm \
  --platform=node --target=node20 --log-level=warning
node "$tmp/ab.mjs" "$tmp/a" "$tmp/b" "$@"
