#!/usr/bin/env bash
# Sets up everything the tests need on a fresh machine, then runs all tests:
#   unit tests, the end-to-end suite (sqllogictest files and protocol tests against a live
#   server) and the Python client suite (psql, psycopg, SQLAlchemy, pandas, deltalake, S3 via a
#   real moto S3 server).
set -euo pipefail
cd "$(dirname "$0")/.."

# Compiled dependencies are reused across runs and clones.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir-target}"
VENV="${WEIR_TEST_VENV:-$HOME/.cache/weir-test-venv}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

echo "== system packages"
if ! command -v psql >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
fi
psql --version

echo "== python client libraries ($VENV)"
stamp="$VENV/.requirements.sha256"
want="$(sha256sum tests/python/requirements.txt | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r tests/python/requirements.txt
  echo "$want" > "$stamp"
fi

echo "== build"
cargo build --workspace --all-targets
export WEIR_BIN="$CARGO_TARGET_DIR/debug/weir"

echo "== rust tests (unit, sqllogictest, protocol)"
cargo test --workspace

echo "== python client tests"
PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/pytest" -q -p no:cacheprovider tests/python
