#!/usr/bin/env bash
# Runs the independent WSDL-driven client suites (Python zeep, Node soap) against a real
# `spolis-adapter demo` started here on a free port with a fresh data directory.
#
#   tests/clients/run.sh [BINARY]       (default: target/debug/spolis-adapter)
#
# Builds nothing: the binary must exist (`cargo build` or `cargo test` made it). Needs the
# suites installed: .venv (pip install -r tests/clients/python/requirements.txt) and
# tests/clients/node/node_modules (npm ci), as .ci/run does. Exits non-zero if the server
# does not start or any suite fails; always stops the server it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

binary=${1:-target/debug/spolis-adapter}
python=${PYTHON:-$repo/.venv/bin/python}
[[ -x $binary ]] || { echo "run.sh: no binary at $binary (build it first)" >&2; exit 2; }
[[ -x $python ]] || { echo "run.sh: no Python at $python (create .venv, see .ci/run)" >&2; exit 2; }
[[ -d tests/clients/node/node_modules ]] || { echo "run.sh: run 'npm ci' in tests/clients/node first" >&2; exit 2; }

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$binary" demo --listen 127.0.0.1:0 --ops-listen 127.0.0.1:0 --data-dir "$work/data" --certs-dir "$repo/certs-example" \
  >"$work/stdout" 2>"$work/stderr" &
server_pid=$!

url=""
# Up to 5 minutes: a debug build generates and imports the 2000-person demo register (with
# its queue statistics) before it listens, about 1.5 minutes on this project's machines.
for _ in $(seq 1 3000); do
  url=$(sed -n 's/^spolis-adapter listening on \(https:\/\/localhost:[0-9]*\).*/\1/p' "$work/stdout" | head -n 1)
  [[ -n $url ]] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $url ]]; then
  echo "run.sh: the demo server did not start" >&2
  cat "$work/stdout" "$work/stderr" >&2
  exit 1
fi
echo "run.sh: demo server at $url"

export SPOLIS_URL=$url SPOLIS_CERTS=$repo/certs-example
failed=0

echo "== Python zeep suite"
"$python" -m pytest -q -p no:cacheprovider tests/clients/python || failed=1

echo "== Node soap suite"
(cd tests/clients/node && node --test --test-reporter=spec) || failed=1

if [[ $failed -ne 0 ]]; then
  echo "run.sh: a client suite FAILED; server log:" >&2
  tail -n 50 "$work/stderr" >&2
  exit 1
fi
echo "run.sh: both client suites passed"
