#!/usr/bin/env bash
# The one command that runs Liaison's whole test suite.
#
#   scripts/test.sh
#
# On a fresh Debian machine (as root) it installs what it needs itself: Chromium (apt) for the
# browser test, a Python venv at .venv from tests/clients/requirements.txt, and the Node test
# dependencies (npm ci in tests/clients/node and in web/). A second run reuses .venv and node_modules as long
# as their lockfiles did not change.
#
# Stages: cargo fmt --check, the agent workspace's committed build matches its sources (npm run
# build in web/), cargo clippy -D warnings, Rust tests (cargo-nextest if installed,
# else cargo test), cargo build -p liaison, pytest (boto3 + raw HTTP/WebSocket), node --test
# (ChatJS under Node and in headless Chromium). Every stage runs even if an earlier check fails
# (the client suites need the binary, so they are skipped if the build fails); the exit status is
# non-zero if anything failed.
#
# Environment: LIAISON_BIN (binary the client tests start; default <target>/debug/liaison),
# LIAISON_TEST_LOG_DIR (server logs of the client tests; default target/client-test-logs),
# CHATJS_DEBUG=1 (ChatJS's own logs), CI (if set, the browser test may not be skipped).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [ -t 1 ]; then BOLD=$'\033[1m'; RED=$'\033[31m'; GREEN=$'\033[32m'; YELLOW=$'\033[33m'; RESET=$'\033[0m'
else BOLD=''; RED=''; GREEN=''; YELLOW=''; RESET=''; fi

section() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$RESET"; }
die() { printf '%serror: %s%s\n' "$RED" "$*" "$RESET" >&2; exit 1; }

SUDO=''
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO='sudo'; fi
fi
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "need to install $* but apt-get is not available"
  if [ "$APT_UPDATED" -eq 0 ]; then
    $SUDO apt-get update -q || die "apt-get update failed"
    APT_UPDATED=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" || die "apt-get install $* failed"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

START=$(date +%s)

# ------------------------------------------------------------------------------------------------
section "Setup"

command -v cargo >/dev/null 2>&1 || die "cargo is not installed (install Rust via rustup)"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (for the browser test)"
  apt_install chromium
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo missing)"

if [ -n "${LIAISON_TEST_DATABASE_URL:-}" ] && ! command -v psql >/dev/null 2>&1; then
  echo "installing postgresql-client (the cluster tests create and drop their schemas with psql)"
  apt_install postgresql-client
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "installing python3-venv"
  apt_install python3 python3-venv
fi
REQ=tests/clients/requirements.txt
if [ -d .venv ] && ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  echo ".venv is broken; recreating it"
  rm -rf .venv
fi
if [ ! -d .venv ]; then
  python3 -m venv .venv || die "python3 -m venv .venv failed"
fi
if [ "$(cat .venv/.liaison-requirements.sha256 2>/dev/null)" != "$(sha "$REQ")" ]; then
  echo "pip install -r $REQ"
  .venv/bin/pip install --disable-pip-version-check -q -r "$REQ" || die "pip install failed"
  sha "$REQ" > .venv/.liaison-requirements.sha256
else
  echo "python venv up to date (.venv)"
fi
echo "python: $(.venv/bin/python --version 2>&1), $(.venv/bin/python -c 'import boto3, botocore; print("boto3", boto3.__version__, "botocore", botocore.__version__)')"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing nodejs and npm"
  apt_install nodejs npm
fi
NODE_DIR=tests/clients/node
LOCK="$NODE_DIR/package-lock.json"
if [ ! -d "$NODE_DIR/node_modules" ] || [ "$(cat "$NODE_DIR/node_modules/.liaison-lock.sha256" 2>/dev/null)" != "$(sha "$LOCK")" ]; then
  echo "npm ci in $NODE_DIR"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  sha "$LOCK" > "$NODE_DIR/node_modules/.liaison-lock.sha256"
else
  echo "node modules up to date ($NODE_DIR/node_modules)"
fi
WEB_LOCK=web/package-lock.json
if [ ! -d web/node_modules ] || [ "$(cat web/node_modules/.liaison-lock.sha256 2>/dev/null)" != "$(sha "$WEB_LOCK")" ]; then
  echo "npm ci in web"
  (cd web && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in web failed"
  sha "$WEB_LOCK" > web/node_modules/.liaison-lock.sha256
else
  echo "node modules up to date (web/node_modules)"
fi
echo "node: $(node --version)"

# ------------------------------------------------------------------------------------------------
declare -a STAGES=()
declare -A RESULT=()
FAILED=0

run_stage() {
  local name=$1; shift
  section "$name"
  echo "+ $*"
  local t0=$(date +%s)
  if "$@"; then
    RESULT[$name]="${GREEN}PASS${RESET} ($(( $(date +%s) - t0 )) s)"
  else
    RESULT[$name]="${RED}FAIL${RESET} ($(( $(date +%s) - t0 )) s)"
    FAILED=1
  fi
  STAGES+=("$name")
}

skip_stage() {
  section "$1"
  echo "skipped: $2"
  RESULT[$1]="${YELLOW}SKIP${RESET} ($2)"
  STAGES+=("$1")
  FAILED=1
}

# The agent workspace's build is committed (the binary embeds it); it must be what its sources
# build to. A failure leaves the fresh build in web/dist to commit.
web_build_is_current() {
  (cd web && npm run --silent build >/dev/null) || return 1
  if ! git diff --quiet -- web/dist || [ -n "$(git ls-files --others --exclude-standard -- web/dist)" ]; then
    echo "web/dist differs from a fresh build of web/workspace; commit the rebuilt web/dist:"
    git status --short -- web/dist
    return 1
  fi
}

run_stage "cargo fmt --check" cargo fmt --all --check
run_stage "web build (web/dist is current)" web_build_is_current
run_stage "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings

if cargo nextest --version >/dev/null 2>&1; then
  NEXTEST_ARGS=()
  if cargo nextest run --help 2>/dev/null | grep -q -- '--no-tests'; then NEXTEST_ARGS+=(--no-tests=warn); fi
  run_stage "rust tests (nextest)" cargo nextest run --workspace "${NEXTEST_ARGS[@]}"
else
  run_stage "rust tests (cargo test)" cargo test --workspace
fi

BUILD_OK=0
run_stage "cargo build -p liaison" cargo build -p liaison
[[ ${RESULT["cargo build -p liaison"]} == *PASS* ]] && BUILD_OK=1

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
export LIAISON_BIN=${LIAISON_BIN:-$TARGET_DIR/debug/liaison}
export LIAISON_TEST_LOG_DIR=${LIAISON_TEST_LOG_DIR:-$ROOT/target/client-test-logs}
export PYTHONDONTWRITEBYTECODE=1

if [ "$BUILD_OK" -eq 1 ]; then
  run_stage "client tests: pytest (boto3, raw HTTP, WebSocket)" \
    .venv/bin/python -m pytest -p no:cacheprovider tests/clients/python
  NODE_TEST_ARGS=(--test --test-reporter=spec --test-concurrency=1)
  if node --test-force-exit -e 0 >/dev/null 2>&1; then NODE_TEST_ARGS+=(--test-force-exit); fi
  run_stage "client tests: node --test (ChatJS in Node and Chromium)" \
    bash -c 'cd "$1" && shift && exec node "$@" test/*.test.js' _ "$NODE_DIR" "${NODE_TEST_ARGS[@]}"
else
  skip_stage "client tests: pytest (boto3, raw HTTP, WebSocket)" "the liaison binary did not build"
  skip_stage "client tests: node --test (ChatJS in Node and Chromium)" "the liaison binary did not build"
fi

# ------------------------------------------------------------------------------------------------
section "Summary ($(( $(date +%s) - START )) s)"
for s in "${STAGES[@]}"; do
  printf '  %-58s %s\n' "$s" "${RESULT[$s]}"
done
echo "  server logs of the client tests: $LIAISON_TEST_LOG_DIR"
if [ "$FAILED" -ne 0 ]; then
  printf '%sFAILED%s\n' "$RED$BOLD" "$RESET"
  exit 1
fi
printf '%sALL PASSED%s\n' "$GREEN$BOLD" "$RESET"
