#!/usr/bin/env bash
# Benchmark peers (bench/peers/README.md): the same WSDL contract and the same SQLite register
# served over mutual TLS by two other SOAP stacks, driven by our load generator exactly as
# bench/run.sh drives spolis-adapter.
#
#   bench/peers/run.sh <register.sqlite3> <seconds> <levels...>
#   e.g. bench/peers/run.sh bench/data/register-10000-*/spolis.sqlite3 5 1 16 64
#
# For each peer (spyne under gunicorn; node-soap under Node's cluster) it
#  1. installs what is missing (bench/peers/.venv from spyne/requirements.txt; npm ci in
#     node-soap/), reinstalling when the pinned file changed,
#  2. starts the peer on a free localhost port and waits until it listens,
#  3. asks it with curl (client certificate certs-example/riga.crt) for EP116 and EP115 about
#     a person of the register who waits in two queues, and checks the answers against the
#     register (bench/peers/check_answer.py: queue positions, event count, applications, and
#     validity against xsd/); a wrong answer stops the script with an error,
#  4. warms it up (1 s of each operation, not reported), then drives EP115 and EP116 at each
#     concurrency level for <seconds> with
#     target/release/examples/loadgen (labels peer-<peer>-ep115 / peer-<peer>-ep116),
#  5. logs the peer's CPU time per request for each run and its peak resident memory (all its
#     processes), and stops it.
# Loadgen's JSON lines go to standard output; everything else to standard error.
#
# Environment: PEERS (default "spyne node-soap"), LOADGEN (default
# target/release/examples/loadgen; not built here), PEER_WORKERS (processes per peer; default
# the number of CPUs), PEER_SPYNE_THREADS (gunicorn gthread threads per worker; default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

usage() { echo "usage: bench/peers/run.sh <register.sqlite3> <seconds> <levels...>" >&2; exit 2; }
[ $# -ge 3 ] || usage
register=$(realpath "$1"); seconds=$2; shift 2; levels=("$@")
[ -f "$register" ] || { echo "run.sh: no register at $register" >&2; exit 2; }

peers=${PEERS:-"spyne node-soap"}
loadgen=${LOADGEN:-target/release/examples/loadgen}
workers=${PEER_WORKERS:-$(nproc)}
threads=${PEER_SPYNE_THREADS:-2}
certs=$repo/certs-example
venv=$repo/bench/peers/.venv
[ -x "$loadgen" ] || { echo "run.sh: no load generator at $loadgen (cargo build --release --example loadgen)" >&2; exit 2; }

work=$(mktemp -d)
pid=""
stop_peer() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}
cleanup() { stop_peer; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. What each peer needs.
install_spyne() {
  local python
  python=$(command -v python3.11 || command -v python3)
  if [ ! -x "$venv/bin/python" ]; then
    echo "run.sh: creating $venv" >&2
    "$python" -m venv "$venv"
  fi
  if ! cmp -s bench/peers/spyne/requirements.txt "$venv/requirements.installed"; then
    echo "run.sh: installing bench/peers/spyne/requirements.txt" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/peers/spyne/requirements.txt >&2
    cp bench/peers/spyne/requirements.txt "$venv/requirements.installed"
  fi
}
install_node_soap() {
  local dir=bench/peers/node-soap
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json"; then
    echo "run.sh: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json"
  fi
}
install_spyne  # the answer check uses the venv's lxml, whichever peers run
case " $peers " in *" node-soap "*) install_node_soap ;; esac

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# 2. Starting a peer: sets pid and port, returns once it listens.
start_peer() { # name
  local name=$1 log=$work/$1.log
  port=$(free_port)
  case "$name" in
    spyne)
      SPOLIS_REGISTER=$register "$venv/bin/gunicorn" --chdir bench/peers/spyne \
        --bind "127.0.0.1:$port" --workers "$workers" --worker-class gthread --threads "$threads" \
        --certfile "$certs/server.crt" --keyfile "$certs/server.key" --ca-certs "$certs/ca.crt" --cert-reqs 2 \
        --no-control-socket --log-level warning \
        server:application > "$log" 2>&1 &
      ;;
    node-soap)
      node bench/peers/node-soap/server.js --register "$register" --port "$port" --workers "$workers" \
        --certs "$certs" > "$log" 2>&1 &
      ;;
    *) echo "run.sh: unknown peer $name" >&2; exit 2 ;;
  esac
  pid=$!
  local started=""
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    # Listening = a TLS server answers on the port (curl's exit 0 or an HTTP status).
    if curl -s -o /dev/null --max-time 2 --cacert "$certs/ca.crt" --cert "$certs/riga.crt" --key "$certs/riga.key" \
      "https://localhost:$port/GetQueueStatusList?wsdl"; then
      started=1; break
    fi
    sleep 0.1
  done
  if [ -z "$started" ]; then
    echo "run.sh: peer $name did not start" >&2
    cat "$log" >&2
    exit 1
  fi
  echo "run.sh: peer $name listening on https://localhost:$port (pid $pid)" >&2
}

# 3. The answers are the register's.
person=$("$venv/bin/python" bench/peers/check_answer.py pick "$register")
check_peer() { # name
  local op
  for op in GetQueueStatusList:ep116 GetApplicationList:ep115; do
    local path=${op%%:*} service=${op#*:}
    sed "s/{PERSON}/$person/" "bench/$path.xml" > "$work/request.xml"
    if ! curl -sS --max-time 30 --cacert "$certs/ca.crt" --cert "$certs/riga.crt" --key "$certs/riga.key" \
      -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$work/request.xml" \
      -o "$work/answer.xml" "https://localhost:$port/$path"; then
      echo "run.sh: FAILED: peer $1 did not answer $service" >&2
      cat "$work/$1.log" >&2
      exit 1
    fi
    echo -n "run.sh: peer $1: " >&2
    "$venv/bin/python" bench/peers/check_answer.py "$service" "$register" "$person" "$work/answer.xml" || {
      echo "run.sh: FAILED: peer $1 answered $service wrongly (see above)" >&2
      exit 1
    }
  done
  # And a call without a client certificate gets no answer.
  if curl -s -o /dev/null --max-time 5 --cacert "$certs/ca.crt" -H 'Content-Type: text/xml; charset=utf-8' \
    --data-binary @"$work/request.xml" "https://localhost:$port/GetApplicationList"; then
    echo "run.sh: FAILED: peer $1 answered a call without a client certificate" >&2
    exit 1
  fi
}

# 4. The load, and the peer's CPU time per answered request (all its processes: the
# gunicorn master and workers, the cluster primary and workers), which the shared machine
# disturbs less than requests/s.
ticks=$(getconf CLK_TCK)
cpu_ticks() { # pid: utime + stime of the process and its children, in clock ticks
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
warm_up() { # name: 1 s of each operation, not reported (V8 compiles node-soap's hot paths
  # in its first second, which would otherwise land in the first measured run)
  local op
  for op in GetApplicationList GetQueueStatusList; do
    "$loadgen" --url "https://localhost:$port/$op" --cert "$certs/riga.crt" --key "$certs/riga.key" \
      --ca "$certs/ca.crt" --body "bench/$op.xml" --register "$register" \
      --concurrency 2 --seconds 1 --label "warm-up-$1" > /dev/null
  done
}
drive() { # name
  local level op line before after requests
  for level in "${levels[@]}"; do
    for op in GetApplicationList:ep115 GetQueueStatusList:ep116; do
      local path=${op%%:*} service=${op#*:}
      before=$(cpu_ticks "$pid")
      line=$("$loadgen" --url "https://localhost:$port/$path" --cert "$certs/riga.crt" --key "$certs/riga.key" \
        --ca "$certs/ca.crt" --body "bench/$path.xml" --register "$register" \
        --concurrency "$level" --seconds "$seconds" --label "peer-$1-$service")
      after=$(cpu_ticks "$pid")
      echo "$line"
      requests=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' <<< "$line")
      awk -v t=$((after - before)) -v hz="$ticks" -v n="${requests:-0}" -v what="peer-$1-$service at $level" \
        'BEGIN { if (n > 0) printf "run.sh: %s: server CPU %.2f ms per request\n", what, 1000 * t / hz / n }' >&2
    done
  done
}

peak_memory() { # pid: VmHWM of the process and its children, summed, in MB
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo $((total / 1024))
}

for peer in $peers; do
  start_peer "$peer"
  check_peer "$peer"
  warm_up "$peer"
  drive "$peer"
  echo "run.sh: peer $peer: peak resident memory $(peak_memory "$pid") MB (all its processes)" >&2
  stop_peer
  if grep -qiE 'error|exception|traceback' "$work/$peer.log"; then
    echo "run.sh: peer $peer logged errors:" >&2
    tail -n 20 "$work/$peer.log" >&2
  fi
done
