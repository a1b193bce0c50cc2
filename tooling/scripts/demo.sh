#!/usr/bin/env bash
# Quick start, end to end on a fresh machine: install and build, then sign a
# sample simulation with the embedded demo key, verify it with the key pinned,
# and show that a tampered copy fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
ERST_SETUP_CHROMIUM=0 ERST_SETUP_QUIET=1 bash tooling/scripts/setup.sh

erst=node_modules/.bin/erst
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The demo key is public (it is in this repository): it signs nothing real.
key=examples/demo-key.pem
chmod 600 "$key"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "erst keys public --key-file $key"
pub=$("$erst" keys public --key-file "$key")
echo "$pub"

step "erst audit sign --key-file $key --payload @examples/sample-simulation.json --out log.json"
"$erst" audit sign --key-file "$key" --payload @examples/sample-simulation.json --out "$work/log.json"

step "erst audit verify log.json --public-key $pub"
"$erst" audit verify "$work/log.json" --public-key "$pub"

step "jq -jcS 'del(.trace_hash, .signature)' log.json | openssl dgst -sha256   # anyone can recompute trace_hash"
jq -jcS 'del(.trace_hash, .signature)' "$work/log.json" | openssl dgst -sha256
jq -r '"trace_hash in the record: \(.trace_hash)"' "$work/log.json"

step "tamper: change one log line, then verify again (expect exit 1)"
jq '.payload.logs[0] = "simulation ok: fee 1 stroop"' "$work/log.json" > "$work/tampered.json"
set +e
"$erst" audit verify "$work/tampered.json" --public-key "$pub"
code=$?
set -e
echo "exit code: $code"
if [ "$code" -ne 1 ]; then echo "demo failed: the tampered copy should have failed verification" >&2; exit 1; fi
printf '\nDemo complete: the signed log verifies, and the tampered copy is caught.\n'
