#!/usr/bin/env bash
# Instructions per operation, counted by valgrind's callgrind: unlike time, the count does not
# move with the other load on this shared VM (two runs agree to about 0.1 %), so changes of a
# few percent can be judged. Usage:
#   scripts/bench/instructions.sh [workload...]   (default: parse-invite forward-invite proxy-call)
# Prints one JSON line per workload: {"bench":"instructions-<workload>","instructions_per_op":N}.
# Each workload runs twice (N1 and N2 operations after the same warm-up, node --single-threaded
# so the garbage collector works on the main thread, in the count); the figure is the difference
# divided by N2 - N1. About two minutes per workload.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install -y valgrind)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# One bundle, so no TypeScript loader runs under valgrind; CommonJS dependencies (pino) get a
# real require for Node's built-in modules.
node_modules/.bin/esbuild scripts/bench/instructions.ts --bundle --platform=node --format=esm \
  --target=node20 --outfile="$tmp/instructions.mjs" --log-level=warning \
  --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"

count() { # <workload> <ops> [node flag...]
  # A failed run prints nothing (and `|| true` keeps set -e from ending the script unexplained).
  { valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded "${@:3}" \
    "$tmp/instructions.mjs" "$1" "$2" 2>&1 || true; } | awk '/Collected/ { gsub(",", "", $4); print $4 }'
}

workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(parse-invite forward-invite proxy-call)
for w in "${workloads[@]}"; do
  # The parser workloads run in the young generation the proxy grows to under load, as
  # bench:parser does (docs/adr/0014-bench-young-generation.md); the call harness grows it itself.
  if [ "$w" = proxy-call ]; then
    n1=500 n2=2000 flags=()
  else
    n1=10000 n2=40000 flags=(--min-semi-space-size=16)
  fi
  a="$(count "$w" "$n1" "${flags[@]}")"
  b="$(count "$w" "$n2" "${flags[@]}")"
  if [ -z "$a" ] || [ -z "$b" ]; then
    echo "instructions: workload $w failed (run: node $tmp/instructions.mjs $w 10)" >&2
    exit 1
  fi
  printf '{"bench":"instructions-%s","instructions_per_op":%d}\n' "$w" $(((b - a) / (n2 - n1)))
done
