#!/usr/bin/env bash
# The benchmark harness (BENCHMARKS.md): in one run, on this machine, it
#  1. builds the service and the examples `loadgen` and `ceiling` (release; --smoke: debug),
#  2. seeds registers of 10 thousand and 2 million persons (--smoke: 2 thousand only),
#  3. starts the service (durable audit on) and drives EP115 and EP116 over mutual TLS
#     keep-alive connections at concurrency 1, 16 and 64,
#  4. drives the ceiling — a minimal hyper + rustls mTLS server answering a fixed body of
#     the same size — the same way, then the ceiling made to sign every answer as the service
#     does, then also to append a record durably (fdatasync, group commit) before answering:
#     the floor of what the guarantees cost, whatever else a server does,
#  5. measures new TLS handshakes per second, with and without session resumption,
#  6. repeats concurrency 16 on the 2-million register,
#  7. reads the service's peak resident memory and times `audit verify` on the log made,
#  8. when PostgreSQL answers at $BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432),
#     repeats concurrency 16 with the register and the audit on PostgreSQL (a database it
#     creates and drops),
#     and, when PostgreSQL's server programs are installed, starts a PostgreSQL of its own and
#     measures EP116 at 16 with TLS to it ([database] tls_ca) and in plaintext,
#  9. unless BENCH_PEERS=0, drives two other SOAP stacks serving the same WSDL and register
#     (spyne, node-soap: bench/peers/README.md) at the same levels, after checking their answers,
# and prints a Markdown report (also written to bench/results/latest.md).
# Usage: bench/run.sh [--smoke] [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
seconds=10
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1; seconds=1 ;;
    --seconds) seconds="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$smoke" = 1 ]; then
  profile_flag=""; target=target/debug; levels="1 4"; small=2000; large=""
else
  profile_flag="--release"; target=target/release; levels="1 16 64"; small=10000; large=2000000
fi
cargo build --locked $profile_flag --bin spolis-adapter --example loadgen --example ceiling >&2
bin=$target/spolis-adapter
loadgen=$target/examples/loadgen
ceiling=$target/examples/ceiling

work=${BENCH_DIR:-bench/data}
mkdir -p "$work" bench/results
results=$(mktemp)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

seed() { # persons
  local dir="$work/register-$1"
  if [ ! -f "$dir/spolis.sqlite3" ]; then
    mkdir -p "$dir"
    local started=$EPOCHREALTIME
    "$bin" seed-demo --data-dir "$dir" --persons "$1" >&2
    echo "seed $1 $(awk "BEGIN {print $EPOCHREALTIME - $started}")" >> "$work/seed-times"
  fi
}

start_service() { # persons [extra demo args...] -> sets port, pid
  local persons=$1; shift
  local dir="$work/run-$persons${1:+-pg}"
  rm -rf "$dir"; mkdir -p "$dir"
  [ $# -gt 0 ] || cp "$work/register-$persons/spolis.sqlite3" "$dir/"
  "$bin" demo --listen 127.0.0.1:0 --ops-listen 127.0.0.1:0 --data-dir "$dir" --persons "$persons" "$@" > "$dir/stdout" 2> "$dir/stderr" &
  pid=$!; pids+=("$pid")
  for _ in $(seq 1 600); do grep -q "listening on" "$dir/stdout" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on https:\/\/localhost:\([0-9]*\).*/\1/p' "$dir/stdout")
  [ -n "$port" ] || { cat "$dir/stderr" >&2; exit 1; }
}

drive() { # label url concurrency register [extra loadgen args...]
  local label=$1 url=$2 concurrency=$3 register=$4; shift 4
  local body=bench/GetQueueStatusList.xml
  case "$url" in *GetApplicationList*) body=bench/GetApplicationList.xml ;; esac
  "$loadgen" --url "$url" --cert certs-example/riga.crt --key certs-example/riga.key --ca certs-example/ca.crt \
    --body "$body" --register "$register" --concurrency "$concurrency" --seconds "$seconds" --label "$label" "$@" | tee -a "$results" >&2
}

seed "$small"
[ -n "$large" ] && seed "$large"

# The service on the small register.
start_service "$small"
service_pid=$pid; service_port=$port
register="$work/register-$small/spolis.sqlite3"
for level in $levels; do
  drive "ep115-$small" "https://localhost:$service_port/GetApplicationList" "$level" "$register"
  drive "ep116-$small" "https://localhost:$service_port/GetQueueStatusList" "$level" "$register"
done
drive "handshake-resumed" "https://localhost:$service_port/GetQueueStatusList" 4 "$register" --new-connection-per-request
drive "handshake-full" "https://localhost:$service_port/GetQueueStatusList" 4 "$register" --new-connection-per-request --no-resumption
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$service_pid/status)

# The ceiling, answering a real EP116 answer's bytes.
answer=$(mktemp)
curl -s --cacert certs-example/ca.crt --cert certs-example/riga.crt --key certs-example/riga.key \
  -H 'Content-Type: text/xml; charset=utf-8' --data-binary "$(sed 's/{PERSON}/150342-10121/' bench/GetQueueStatusList.xml)" \
  "https://localhost:$service_port/GetQueueStatusList" > "$answer"
run_ceiling() { # label [ceiling options...]
  local label=$1; shift
  "$ceiling" --answer "$answer" "$@" > "$work/ceiling.out" &
  local ceiling_pid=$!; pids+=("$ceiling_pid")
  for _ in $(seq 1 100); do grep -q "listening on" "$work/ceiling.out" 2>/dev/null && break; sleep 0.1; done
  local ceiling_port
  ceiling_port=$(sed -n 's/.*localhost:\([0-9]*\).*/\1/p' "$work/ceiling.out")
  for level in $levels; do
    drive "$label" "https://localhost:$ceiling_port/GetQueueStatusList" "$level" "$register"
  done
  kill "$ceiling_pid"; wait "$ceiling_pid" 2>/dev/null || true
}
run_ceiling ceiling
run_ceiling ceiling+sign --sign
rm -f "$work/ceiling-durable.log"
run_ceiling ceiling+sign+durable --sign --durable-log "$work/ceiling-durable.log"
rm -f "$work/ceiling-durable.log"

kill -TERM "$service_pid"; wait "$service_pid" 2>/dev/null || true
audit_dir="$work/run-$small"
verify_started=$EPOCHREALTIME
verify_out=$("$bin" audit verify --data-dir "$audit_dir")
verify_seconds=$(awk "BEGIN {print $EPOCHREALTIME - $verify_started}")

# The large register, at concurrency 16.
if [ -n "$large" ]; then
  start_service "$large"
  drive "ep115-$large" "https://localhost:$port/GetApplicationList" 16 "$work/register-$large/spolis.sqlite3"
  drive "ep116-$large" "https://localhost:$port/GetQueueStatusList" 16 "$work/register-$large/spolis.sqlite3"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
fi

# The register and the audit on PostgreSQL, same data (demo seeds it by COPY from the generator).
postgres=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
# A full run measures PostgreSQL too: a missing psql, an unreachable server or a missing
# initdb is an error, never a silently shorter table (BENCH_POSTGRES=none opts out, and says so).
if [ "$smoke" = 0 ] && [ "$postgres" != none ]; then
  command -v psql >/dev/null 2>&1 || { echo "bench: psql is required for the PostgreSQL rows (apt-get install postgresql-client, or BENCH_POSTGRES=none)" >&2; exit 1; }
  psql "$postgres/postgres" -qtAc "SELECT 1" >/dev/null || { echo "bench: PostgreSQL at $postgres does not answer (or BENCH_POSTGRES=none)" >&2; exit 1; }
fi
if [ "$smoke" = 0 ] && [ "$postgres" = none ]; then
  echo "bench: BENCH_POSTGRES=none: the PostgreSQL rows are left out of this run" >&2
fi
if [ "$smoke" = 0 ] && [ "$postgres" != none ]; then
  psql "$postgres/postgres" -qc "DROP DATABASE IF EXISTS spolis_bench WITH (FORCE)" -c "CREATE DATABASE spolis_bench" >&2
  start_service "$small" --database-url "$postgres/spolis_bench"
  drive "ep115-$small-postgres" "https://localhost:$port/GetApplicationList" 16 "$register"
  drive "ep116-$small-postgres" "https://localhost:$port/GetQueueStatusList" 16 "$register"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  psql "$postgres/postgres" -qc "DROP DATABASE IF EXISTS spolis_bench WITH (FORCE)" >&2
fi

# What TLS to the database costs: a PostgreSQL of the run's own (default settings, the example
# server certificate), EP116 at concurrency 16 with [database] tls_ca set, then in plaintext.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ "$smoke" = 0 ] && [ "$postgres" != none ] && { [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; }; then
  echo "bench: initdb (the PostgreSQL server package) is required for the database-TLS rows (or BENCH_POSTGRES=none)" >&2; exit 1
fi
if [ "$smoke" = 0 ] && [ "$postgres" != none ]; then
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  pgdir=$(mktemp -d); chmod 755 "$pgdir"; [ "$(id -u)" = 0 ] && chown postgres: "$pgdir"
  as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust --no-sync >/dev/null
  cp certs-example/server.crt certs-example/server.key "$pgdir/data/"; chmod 600 "$pgdir/data/server.key"
  pgport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" \
    "$pgport" "$pgdir" >> "$pgdir/data/postgresql.conf"
  # Each run has its own role, admitted only with (hostssl) or only without (hostnossl) TLS:
  # a TLS run that fell back to plaintext would be refused, not measured.
  printf "local all all trust\nhostssl all postgres 127.0.0.1/32 trust\nhostnossl all plain 127.0.0.1/32 trust\n" > "$pgdir/data/pg_hba.conf"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$pgdir"
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w start >/dev/null
  psql "postgres://postgres@127.0.0.1:$pgport/postgres?sslmode=require" -q \
    -c "CREATE ROLE plain LOGIN" -c "CREATE DATABASE spolis_tls" -c "CREATE DATABASE spolis_plain OWNER plain" >&2
  for mode in tls plain; do
    user=postgres
    if [ "$mode" = tls ]; then export SPOLIS_DATABASE_TLS_CA=certs-example/ca.crt; else unset SPOLIS_DATABASE_TLS_CA; user=plain; fi
    start_service "$small" --database-url "postgres://$user@localhost:$pgport/spolis_$mode"
    # Unreported warm-up: the first run on a database just seeded was the slow one twice
    # (38 calls/s once, a 175 ms p99 once), and TLS always went first; warmed, both compare.
    "$loadgen" --url "https://localhost:$port/GetQueueStatusList" --cert certs-example/riga.crt --key certs-example/riga.key \
      --ca certs-example/ca.crt --body bench/GetQueueStatusList.xml --register "$register" --concurrency 16 --seconds 2 >/dev/null
    drive "ep116-$small-own-postgres-$mode" "https://localhost:$port/GetQueueStatusList" 16 "$register"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  done
  unset SPOLIS_DATABASE_TLS_CA
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null; rm -rf "$pgdir"
fi

# Other SOAP stacks on the same contract and register (they install their own dependencies).
if [ "${BENCH_PEERS:-1}" != 0 ]; then
  LOADGEN=$loadgen bench/peers/run.sh "$register" "$seconds" $levels | tee -a "$results" >&2
fi

python3 - "$results" "$rss_kb" "$verify_seconds" "$verify_out" "$work/seed-times" "$answer" "$smoke" "$small" <<'PY' | tee bench/results/latest.md
import json, sys, os, re
results_file, rss_kb, verify_seconds, verify_out, seed_times, answer, smoke, small_persons = sys.argv[1:9]
rows = [json.loads(line) for line in open(results_file) if line.startswith("{")]
def get(label, c):
    return next((r for r in rows if r["label"] == label and r["concurrency"] == c), None)
print(f"### Run ({'smoke' if smoke == '1' else 'full'}), answer size {os.path.getsize(answer)} bytes\n")
print("| what | concurrency | requests/s | p50 ms | p99 ms | errors |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['label']}{' (new connection each)' if r['new_connections'] else ''}{'' if r['resumption'] or not r['new_connections'] else ', no resumption'} | {r['concurrency']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |")
print()
for c in sorted({r["concurrency"] for r in rows if r["label"] == "ceiling"}):
    ceiling = get("ceiling", c)
    for label in [r["label"] for r in rows if r["label"].startswith("ep116-") and r["concurrency"] == c][:1]:
        ours = get(label, c)
        floors = "".join(
            f", {100*ours['rps']/floor['rps']:.0f}% of {name} ({floor['rps']:.0f}/s)"
            for name in ["ceiling+sign", "ceiling+sign+durable"] if (floor := get(name, c)))
        print(f"- EP116 at concurrency {c}: {ours['rps']:.0f}/s = **{100*ours['rps']/ceiling['rps']:.0f}%** of the ceiling ({ceiling['rps']:.0f}/s){floors}")
for c in sorted({r["concurrency"] for r in rows if r["label"].startswith("peer-")}):
    for operation in ["ep115", "ep116"]:
        ours = next((r for r in rows if r["label"] == f"{operation}-{small_persons}" and r["concurrency"] == c), None)
        peers = [r for r in rows if r["label"].startswith("peer-") and r["label"].endswith(operation) and r["concurrency"] == c]
        if ours and peers:
            print(f"- {operation.upper()} at concurrency {c}: ours {ours['rps']:.0f}/s; " + ", ".join(
                f"{r['label'][5:-6]} {r['rps']:.0f}/s (ours ×{ours['rps']/max(r['rps'], 1e-9):.1f})" for r in peers))
sixteen = [r for r in rows if r["concurrency"] == 16 and not r["new_connections"] and r["label"].startswith("ep")]
for r in sixteen:
    print(f"- {r['label']} at 16: p99/p50 = {r['p99_ms']/r['p50_ms']:.2f}")
small = [r for r in sixteen if r["label"].startswith("ep116-") and not r["label"].endswith("2000000")]
large = [r for r in sixteen if r["label"] == "ep116-2000000"]
if small and large:
    print(f"- EP116 p50 at 2 million persons / at 10 thousand: {large[0]['p50_ms']/small[0]['p50_ms']:.2f}")
print(f"- peak resident memory of the service: {int(rss_kb)/1024:.0f} MB")
m = re.search(r"(\d+) records", verify_out)
walk = re.search(r"; ([\d.]+)(ms|s|µs)$", verify_out.strip())
if m:
    n = int(m.group(1))
    print(f"- audit verify: {n} records in {float(verify_seconds):.2f} s = {n/float(verify_seconds):.0f} records/s (process start included)")
    if walk:
        seconds = float(walk.group(1)) * {"ms": 1e-3, "s": 1.0, "µs": 1e-6}[walk.group(2)]
        print(f"- audit verify, the walk itself (as the command reports it): {seconds:.3f} s = {n/seconds:.0f} records/s")
if os.path.exists(seed_times):
    for line in open(seed_times):
        _, persons, secs = line.split()
        print(f"- seeding {int(persons):,} persons: {float(secs):.1f} s")
PY
