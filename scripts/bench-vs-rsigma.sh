#!/usr/bin/env bash
# Compares Firebreak's detection throughput with rsigma 0.23.0 on the same corpus and the
# same SigmaHQ AWS rules, each pinned to one core, output discarded, in one run.
# Usage: scripts/bench-vs-rsigma.sh [CORPUS.jsonl]   (default: the bench corpus, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${FIREBREAK_SHARED_DATA:-../shared/data}
rules="$shared/sigmahq-aws/rules"
corpus=${1:-target/bench/corpus.jsonl}

cargo build --release --locked -q
if [[ ! -f "$corpus" ]]; then
  mkdir -p "$(dirname "$corpus")"
  bash "$shared/make-bench-corpus.sh" "$corpus"
fi

rsigma=target/rsigma/bin/rsigma
if [[ ! -x "$rsigma" ]] || ! "$rsigma" --version 2>/dev/null | grep -q '0\.23\.0'; then
  echo "installing rsigma 0.23.0 into target/rsigma (a few minutes) ..." >&2
  cargo install rsigma --version 0.23.0 --locked --no-default-features --features rsigma-runtime --root target/rsigma
fi
# rsigma moved `eval` under `engine` in later releases; use whichever this build has.
if "$rsigma" engine eval --help >/dev/null 2>&1; then eval_cmd=(engine eval); else eval_cmd=(eval); fi

events=$(wc -l < "$corpus")
bytes=$(wc -c < "$corpus")
pin=(taskset -c 0)
command -v taskset >/dev/null || pin=()

[[ -x /usr/bin/time ]] || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
# cpu_seconds CMD...: runs CMD with its output discarded, prints user+sys CPU seconds.
cpu_seconds() {
  local f
  f=$(mktemp)
  /usr/bin/time -o "$f" -f '%U %S' "$@" > /dev/null 2> /dev/null || true  # hunt exits 1 when alerts fire
  tail -n 1 "$f" | awk '{printf "%.3f", $1 + $2}'
  rm -f "$f"
}

cat "$corpus" > /dev/null  # warm the page cache
fb=$(cpu_seconds "${pin[@]}" ./target/release/firebreak hunt "$corpus" --rules "$rules" --no-bundled --threads 1 --no-progress --output jsonl --out /dev/null)
rs=$(cpu_seconds "${pin[@]}" sh -c "\"$rsigma\" ${eval_cmd[*]} -r \"$rules\" < \"$corpus\"")

printf 'corpus: %s (%d events, %d bytes); rules: %s\n' "$corpus" "$events" "$bytes" "$rules"
awk -v e="$events" -v fb="$fb" -v rs="$rs" 'BEGIN {
  printf "%-34s %8.2f cpu s %12.0f events/s/core\n", "rsigma 0.23.0 (1 core)", rs, e / rs
  printf "%-34s %8.2f cpu s %12.0f events/s/core\n", "firebreak hunt (1 core)", fb, e / fb
  printf "ratio firebreak / rsigma: %.2fx\n", rs / fb
}'
