#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need, then runs them
# in ONE cargo invocation (building and testing separately would compile dependencies twice).
#
# Tests read ../shared/data when present; under CI=true its absence is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${CI:-}" == "true" && ! -f ../shared/data/README.md ]]; then
  echo "error: ../shared/data is missing (required under CI=true)" >&2
  exit 1
fi

# Later test suites add their own installers here (AWS emulator, Chromium).

exec cargo test --workspace --locked "$@"
