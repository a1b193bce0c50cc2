#!/usr/bin/env bash
# Installs everything this repository needs on a fresh Debian machine with
# Node 20 (the project's machine kind): system packages, pnpm, dependencies,
# then builds. Safe to rerun: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '\n== %s\n' "$*" >&2; }

# ERST_SETUP_QUIET=1 (the demo) keeps tool output (apt, node-gyp's compiler
# lines, pnpm's progress and update notice) in a log, shown only on failure.
quiet_log=""
if [ "${ERST_SETUP_QUIET:-0}" = 1 ]; then
  quiet_log=$(mktemp "${TMPDIR:-/tmp}/erst-setup.XXXXXX.log")
  log() { printf 'setup: %s\n' "$*" >&2; }
fi
step() {
  if [ -n "$quiet_log" ]; then
    "$@" >>"$quiet_log" 2>&1 || { cat "$quiet_log" >&2; echo "setup failed; log above ($quiet_log)" >&2; return 1; }
  else
    "$@"
  fi
}
export npm_config_update_notifier=false

# Another apt (unattended upgrades at boot) may hold the dpkg or lists lock:
# wait for it instead of failing.
apt_wait() {
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    "$@" -o DPkg::Lock::Timeout=600 && return 0
    echo "apt busy or failed (try $i of 10); waiting" >&2
    sleep 30
  done
  return 1
}

need_apt=()
command -v softhsm2-util >/dev/null 2>&1 && [ -e /usr/lib/softhsm/libsofthsm2.so ] || need_apt+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || need_apt+=(opensc)
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# Go and its x/mod sources: the reference sumdb/note and sumdb/tlog code that
# the log interop tests run against our checkpoints, tiles and proofs.
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb ] || need_apt+=(golang-golang-x-mod-dev)
if [ "${ERST_SETUP_CHROMIUM:-1}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  step apt_wait $SUDO apt-get update -qq
  step apt_wait env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "npm install -g pnpm@$PNPM_VERSION (corepack does not work on this machine)"
  step npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null
fi

# pkcs11js builds with node-gyp; without this it tries to download Node
# headers, and there is no network for that. The headers ship with Node here.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
export TURBO_TELEMETRY_DISABLED=1

log "pnpm install"
step pnpm install --frozen-lockfile --reporter=append-only
# pnpm's side-effects cache can hide a broken native build: prove it loads.
node -e "require(require.resolve('pkcs11js', { paths: ['packages/signer-pkcs11'] }))" \
  || { echo "pkcs11js did not build (is npm_config_nodedir=/usr exported?)" >&2; exit 1; }

log "pnpm build"
step pnpm build --output-logs=errors-only
[ -z "$quiet_log" ] || rm -f "$quiet_log"
