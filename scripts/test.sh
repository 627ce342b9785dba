#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need, then runs them
# in ONE cargo invocation (building and testing separately would compile dependencies twice),
# with `cargo fmt --check` before and `cargo clippy -D warnings` after.
#
# Tests read ../shared/data when present; under CI=true its absence is a failure.
# AWS integration tests run against moto (the AWS emulator), installed here into
# target/moto-venv; each test binary starts its own server on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${CI:-}" == "true" && ! -f ../shared/data/README.md ]]; then
  echo "error: ../shared/data is missing (required under CI=true)" >&2
  exit 1
fi

MOTO_VERSION=5.2.5
venv=target/moto-venv
if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "installing moto $MOTO_VERSION into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

# cfn-lint validates the forensic workstation templates (moto[server] brings it; make sure).
if [[ ! -x "$venv/bin/cfn-lint" ]]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check cfn-lint
fi

# The official OCSF schema (1.1.0 among the exports ocsf-json-schema ships) and a JSON Schema
# validator, for the test that validates every OCSF event Firebreak writes.
if ! "$venv/bin/python" -c "import ocsf_json_schema, jsonschema" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ocsf-json-schema==1.2.0" "jsonschema==4.26.0"
fi
# A mock OpenID Connect provider for the SSO sign-in tests.
if ! "$venv/bin/python" -c "import oidc_provider_mock" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "oidc-provider-mock==0.3.4"
fi
# pypdf reads the post-incident review's PDF back (pages, the charts' text).
if ! "$venv/bin/python" -c "import pypdf" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pypdf==6.1.1"
fi
export FIREBREAK_TEST_PYTHON="$PWD/$venv/bin/python"

# Real headless Chromium and its WebDriver for the browser tests (Debian's packages).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "installing chromium and chromium-driver" >&2
    apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "chromium/chromedriver missing and not root: the browser tests will skip (fail under CI=true)" >&2
  fi
fi

# Nothing may reach real AWS: no ambient credentials, profiles or instance metadata.
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN

# Formatting first (no build needed); the lints after the tests, so the tests are not kept
# waiting. Both only for the whole suite (no arguments).
if [[ $# -eq 0 ]]; then
  cargo fmt --all --check
fi
cargo test --workspace --locked "$@"
if [[ $# -eq 0 ]]; then
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi
