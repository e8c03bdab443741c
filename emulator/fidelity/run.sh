#!/usr/bin/env bash
# Fidelity check: unchanged third-party clients (google-api-python-client, msgraph-sdk,
# exchangelib) against a freshly started crmcal-emulator. See README.md next to this file.
#
# Usage: emulator/fidelity/run.sh [--fresh] [google|graph|ews ...]
#   --fresh   rebuild the virtualenv even if it matches requirements.txt
#   names     run only these checks (default: all three)
# Environment: FIDELITY_VENV (default target/fidelity-venv), PYTHON (default python3).
# Exit status: 0 when every check passed, 1 when any failed, 2 on a setup error.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${FIDELITY_VENV:-$ROOT/target/fidelity-venv}"
PYTHON="${PYTHON:-python3}"

fresh=0
checks=()
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=1 ;;
    google|graph|ews) checks+=("$arg") ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
[ ${#checks[@]} -gt 0 ] || checks=(google graph ews)

log() { printf '[fidelity] %s\n' "$*" >&2; }
started=$SECONDS

# ---- 1. virtualenv with the pinned client libraries (PyPI only) ----------------------------
# Reused while it matches requirements.txt (a copy is kept inside it); never in git (target/).
if [ "$fresh" = 1 ] || ! [ -x "$VENV/bin/python" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/fidelity-requirements.txt"; then
  log "creating virtualenv $VENV"
  "$PYTHON" -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-virtualenv -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/fidelity-requirements.txt"
fi

# ---- 2. build and start the emulator on a free port ---------------------------------------
if [ -z "${FIDELITY_EMULATOR_BIN:-}" ]; then
  eval "$("$ROOT/scripts/toolchain.sh" env)"
  export RUSTFLAGS="--cfg erase_components"   # the flags `make test` uses: keeps the build cache valid
  log "building crmcal-emulator"
  (cd "$ROOT" && cargo build --quiet -p emulator --bin crmcal-emulator)
  FIDELITY_EMULATOR_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/crmcal-emulator"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/crmcal-fidelity.XXXXXX")"
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

RUST_LOG="${RUST_LOG:-warn}" "$FIDELITY_EMULATOR_BIN" --addr 127.0.0.1:0 >"$work/emulator.out" 2>"$work/emulator.err" &
emu_pid=$!
base=""
for _ in $(seq 1 300); do   # the binary prints its address once it is bound
  base="$(sed -n 's/^crmcal-emulator listening on \(http:[^ ]*\).*/\1/p' "$work/emulator.out")"
  [ -n "$base" ] && break
  kill -0 "$emu_pid" 2>/dev/null || { log "emulator exited:"; cat "$work/emulator.err" >&2; exit 2; }
  sleep 0.1
done
[ -n "$base" ] || { log "emulator did not report its address"; exit 2; }
log "emulator at $base"

# ---- 3. mailboxes and tokens through the control API --------------------------------------
control() {  # METHOD PATH JSON -> response body; fails on an HTTP error
  curl --silent --show-error --fail-with-body --noproxy '*' -X "$1" -H 'content-type: application/json' --data "$3" "$base/_emulator$2"
}
json_field() { "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

control POST /mailboxes '{"email":"gina@fidelity.test","provider":"google"}' >/dev/null
control POST /mailboxes '{"email":"greta@fidelity.test","provider":"graph"}' >/dev/null
control POST /mailboxes '{"email":"ewan@fidelity.test","provider":"ews","password":"ewan-pw"}' >/dev/null
control POST /mailboxes '{"email":"erin@fidelity.test","provider":"ews","password":"erin-pw"}' >/dev/null
control POST /mailboxes '{"email":"svc@fidelity.test","provider":"ews","password":"svc-pw","can_impersonate":true}' >/dev/null

export FIDELITY_BASE="$base"
export GOOGLE_TOKEN GRAPH_TOKEN GRAPH_USER=greta@fidelity.test
GOOGLE_TOKEN="$(control POST /tokens '{"email":"gina@fidelity.test","provider":"google"}' | json_field access_token)"
GRAPH_TOKEN="$(control POST /tokens '{"email":"greta@fidelity.test","provider":"graph"}' | json_field access_token)"
export EWS_USER=ewan@fidelity.test EWS_PASSWORD=ewan-pw
export EWS_SERVICE=svc@fidelity.test EWS_SERVICE_PASSWORD=svc-pw EWS_TARGET=erin@fidelity.test

# ---- 4. the checks -------------------------------------------------------------------------
# common.py refuses (via a CPython audit hook) every DNS lookup and connection that is not to
# loopback, so a client that tries to reach Google or Microsoft fails its check. (Dead proxy
# variables would be a weaker guard, and httplib2 refuses to run with them without PySocks.)
export PYTHONDONTWRITEBYTECODE=1

failed=()
for name in "${checks[@]}"; do
  log "running ${name}_check.py"
  if ! (cd "$HERE" && timeout 300 "$VENV/bin/python" "${name}_check.py"); then
    failed+=("$name")
  fi
done

if ! kill -0 "$emu_pid" 2>/dev/null; then
  log "the emulator died during the checks:"; tail -20 "$work/emulator.err" >&2; failed+=("emulator")
fi
log "done in $((SECONDS - started))s"
if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "all fidelity checks passed"
