#!/usr/bin/env bash
# The benchmark harness (BENCHMARKS.md): in one run, on this machine, it
#  1. builds the service and the examples `loadgen` and `ceiling` (release; --smoke: debug),
#  2. seeds registers of 10 thousand and 2 million persons (--smoke: 2 thousand only),
#  3. starts the service (durable audit on), checks its EP115 and EP116 answers against the
#     register with the independent SQL oracle (bench/peers/check_answer.py), and drives them
#     over mutual TLS keep-alive connections at concurrency 1, 16 and 64; the load generator
#     checks every answer (HTTP 200, the response element, no Fault, no ErrorList) and fails
#     the run on any error,
#  4. drives the ceiling — a minimal hyper + rustls mTLS server answering a fixed body of
#     the same size — the same way, then the ceiling made to sign every answer as the service
#     does, then also to append a record durably (fdatasync, group commit) before answering:
#     the floor of what the guarantees cost, whatever else a server does,
#  5. measures new TLS handshakes per second, with and without session resumption,
#     steps 3 and 4 are repeated (BENCH_ROUNDS, 3; --smoke: 1), service and floor alternating,
#     and the report gives the median and the spread;
#     then EP116 open loop at fixed rates, 50 % and 80 % of the measured maximum, for the
#     service and the floor (latency from when each request was due: no coordinated omission),
#  6. repeats concurrency 16 on the 2-million register,
#  7. reads the service's peak resident memory and times `audit verify` on the log made,
#  8. when PostgreSQL answers at $BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432),
#     repeats concurrency 16 with the register and the audit on PostgreSQL (a database it
#     creates and drops),
#     and, when PostgreSQL's server programs are installed, starts a PostgreSQL of its own and
#     measures EP116 at 16 with TLS to it ([database] tls_ca) and in plaintext,
#  9. unless BENCH_PEERS=0, drives two other SOAP stacks serving the same WSDL and register
#     (spyne, node-soap: bench/peers/README.md) at the same levels, after checking their answers,
# and prints a Markdown report (also written to bench/results/latest.md, with every raw JSON
# line in bench/results/latest.jsonl; a smoke run writes bench/results/smoke.*). Each row carries the server's CPU time per call,
# read by the load generator from /proc.
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
  profile_flag=""; target=target/debug; levels="1 4"; small=2000; large=""; rounds=1
else
  profile_flag="--release"; target=target/release; levels="1 16 64"; small=10000; large=2000000
  rounds=${BENCH_ROUNDS:-3}
fi
# The oracle that checks answers against the register needs lxml: the project's venv
# (scripts/test-all makes it) has it.
oracle_python=${BENCH_PYTHON:-.venv/bin/python}
"$oracle_python" -c "import lxml" 2>/dev/null || {
  echo "bench: $oracle_python with lxml is required to check answers (scripts/test-all makes .venv; or set BENCH_PYTHON)" >&2; exit 1; }
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

# Registers are kept between runs (seeding 2 million persons takes minutes), keyed by what
# decides their contents — the schema and the generator — so a changed schema is never
# benchmarked against a register made by an older binary.
register_key=$(find migrations/sqlite src/tools/demo_register src/register -type f | sort | xargs cat | sha256sum | cut -c1-12)

seed() { # persons
  local dir="$work/register-$1-$register_key"
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
  [ $# -gt 0 ] || cp "$work/register-$persons-$register_key/spolis.sqlite3" "$dir/"
  "$bin" demo --listen 127.0.0.1:0 --ops-listen 127.0.0.1:0 --data-dir "$dir" --persons "$persons" "$@" > "$dir/stdout" 2> "$dir/stderr" &
  pid=$!; pids+=("$pid"); server_pid=$pid
  for _ in $(seq 1 600); do grep -q "listening on" "$dir/stdout" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on https:\/\/localhost:\([0-9]*\).*/\1/p' "$dir/stdout")
  [ -n "$port" ] || { cat "$dir/stderr" >&2; exit 1; }
}

drive() { # label url concurrency register [extra loadgen args...]
  local label=$1 url=$2 concurrency=$3 register=$4; shift 4
  local body=bench/GetQueueStatusList.xml
  case "$url" in *GetApplicationList*) body=bench/GetApplicationList.xml ;; esac
  # A later --body (the IVIS rows) overrides this one.
  "$loadgen" --url "$url" --cert certs-example/riga.crt --key certs-example/riga.key --ca certs-example/ca.crt \
    --body "$body" --register "$register" --concurrency "$concurrency" --seconds "$seconds" --label "$label" \
    ${server_pid:+--server-pid "$server_pid"} "$@" | tee -a "$results" >&2
}

# The maximum a closed-loop row measured (median over the rounds), for the open-loop rates.
max_rps() { # label concurrency
  python3 -c 'import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print(int(statistics.median([r["rps"] for r in rows if r["label"] == sys.argv[2] and r["concurrency"] == int(sys.argv[3]) and not r["rate"]])))' "$results" "$1" "$2"
}

# Our answers are the register's, by the same independent SQL the peers are checked with.
check_service_answers() { # port register
  local person request answer_file
  person=$("$oracle_python" bench/peers/check_answer.py pick "$2")
  request=$(mktemp); answer_file=$(mktemp)
  for op in GetQueueStatusList:ep116 GetApplicationList:ep115; do
    sed "s/{PERSON}/$person/" "bench/${op%%:*}.xml" > "$request"
    curl -sS --max-time 30 --cacert certs-example/ca.crt --cert certs-example/riga.crt --key certs-example/riga.key \
      -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$request" -o "$answer_file" "https://localhost:$1/${op%%:*}"
    "$oracle_python" bench/peers/check_answer.py "${op#*:}" "$2" "$person" "$answer_file" || {
      echo "bench: FAILED: the service answered ${op%%:*} wrongly (see above)" >&2; exit 1; }
  done
  rm -f "$request" "$answer_file"
}

seed "$small"
[ -n "$large" ] && seed "$large"

# The service on the small register.
start_service "$small"
service_pid=$pid; service_port=$port
register="$work/register-$small-$register_key/spolis.sqlite3"
check_service_answers "$service_port" "$register"

# The ceiling answers a real EP116 answer's bytes, checked to be a successful one first.
answer=$(mktemp)
curl -s --cacert certs-example/ca.crt --cert certs-example/riga.crt --key certs-example/riga.key \
  -H 'Content-Type: text/xml; charset=utf-8' --data-binary "$(sed 's/{PERSON}/150342-10121/' bench/GetQueueStatusList.xml)" \
  "https://localhost:$service_port/GetQueueStatusList" > "$answer"
"$oracle_python" bench/peers/check_answer.py ep116 "$register" 150342-10121 "$answer" || {
  echo "bench: FAILED: the answer the ceiling would replay is not a correct EP116 answer" >&2; exit 1; }
start_ceiling() { # [ceiling options...] -> sets ceiling_pid, ceiling_port
  "$ceiling" --answer "$answer" "$@" > "$work/ceiling.out" &
  ceiling_pid=$!; pids+=("$ceiling_pid")
  for _ in $(seq 1 100); do grep -q "listening on" "$work/ceiling.out" 2>/dev/null && break; sleep 0.1; done
  ceiling_port=$(sed -n 's/.*localhost:\([0-9]*\).*/\1/p' "$work/ceiling.out")
}
run_ceiling() { # label [ceiling options...]
  local label=$1; shift
  rm -f "$work/ceiling-durable.log"
  start_ceiling "$@"
  for level in $levels; do
    server_pid=$ceiling_pid drive "$label" "https://localhost:$ceiling_port/GetQueueStatusList" "$level" "$register"
  done
  kill "$ceiling_pid"; wait "$ceiling_pid" 2>/dev/null || true
  rm -f "$work/ceiling-durable.log"
}

# Service and floor alternate, round after round, so that a slow minute of this shared
# machine falls on both rather than on one.
for round in $(seq "$rounds"); do
  echo "bench: round $round of $rounds" >&2
  for level in $levels; do
    server_pid=$service_pid drive "ep115-$small" "https://localhost:$service_port/GetApplicationList" "$level" "$register"
    server_pid=$service_pid drive "ep116-$small" "https://localhost:$service_port/GetQueueStatusList" "$level" "$register"
    # The IVIS style as the bus sends it: the envelope, a fresh MessageID per call.
    server_pid=$service_pid drive "ep116-$small-ivis" "https://localhost:$service_port/GetQueueStatusList" "$level" "$register" \
      --body bench/GetQueueStatusListIVIS.xml
  done
  run_ceiling ceiling
  run_ceiling ceiling+sign --sign
  run_ceiling ceiling+sign+durable --sign --durable-log "$work/ceiling-durable.log"
done
server_pid=$service_pid drive "handshake-resumed" "https://localhost:$service_port/GetQueueStatusList" 4 "$register" --new-connection-per-request
server_pid=$service_pid drive "handshake-full" "https://localhost:$service_port/GetQueueStatusList" 4 "$register" --new-connection-per-request --no-resumption

# Open loop: latency at fixed rates, 50 % and 80 % of the closed-loop maximum at the highest
# level, from when each request was due.
top=${levels##* }
for share in 50 80; do
  rate=$(( $(max_rps "ep116-$small" "$top") * share / 100 ))
  server_pid=$service_pid drive "ep116-$small-open$share" "https://localhost:$service_port/GetQueueStatusList" "$top" "$register" --rate "$rate"
  rate=$(( $(max_rps ceiling+sign+durable "$top") * share / 100 ))
  start_ceiling --sign --durable-log "$work/ceiling-durable.log"
  server_pid=$ceiling_pid drive "ceiling+sign+durable-open$share" "https://localhost:$ceiling_port/GetQueueStatusList" "$top" "$register" --rate "$rate"
  kill "$ceiling_pid"; wait "$ceiling_pid" 2>/dev/null || true
  rm -f "$work/ceiling-durable.log"
done
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$service_pid/status)

kill -TERM "$service_pid"; wait "$service_pid" 2>/dev/null || true
audit_dir="$work/run-$small"
verify_started=$EPOCHREALTIME
verify_out=$("$bin" audit verify --data-dir "$audit_dir")
verify_seconds=$(awk "BEGIN {print $EPOCHREALTIME - $verify_started}")

# The large register, at concurrency 16.
if [ -n "$large" ]; then
  start_service "$large"
  drive "ep115-$large" "https://localhost:$port/GetApplicationList" 16 "$work/register-$large-$register_key/spolis.sqlite3"
  drive "ep116-$large" "https://localhost:$port/GetQueueStatusList" 16 "$work/register-$large-$register_key/spolis.sqlite3"
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

# A full run's raw lines and report are kept in the repository (bench/results/latest.*);
# a smoke run's are not (bench/results/smoke.*, ignored).
report=bench/results/latest; [ "$smoke" = 1 ] && report=bench/results/smoke
cp "$results" "$report.jsonl"
python3 - "$results" "$rss_kb" "$verify_seconds" "$verify_out" "$work/seed-times" "$answer" "$smoke" "$small" "$rounds" <<'PY' | tee "$report.md"
import json, sys, os, re, statistics
results_file, rss_kb, verify_seconds, verify_out, seed_times, answer, smoke, small_persons, rounds = sys.argv[1:10]
rows = [json.loads(line) for line in open(results_file) if line.startswith("{")]

# One line per (what, concurrency, rate) with the median over its rounds and the spread.
groups = {}
for r in rows:
    key = (r["label"], r["concurrency"], r.get("rate", 0), r["new_connections"], r["resumption"])
    groups.setdefault(key, []).append(r)
def median(rs, field):
    return statistics.median(r.get(field, 0) for r in rs)
def row(label, c, rate=0):
    rs = next((v for k, v in groups.items() if k[0] == label and k[1] == c and k[2] == rate), None)
    return None if rs is None else {f: median(rs, f) for f in ["rps", "p50_ms", "p99_ms", "p999_ms", "server_cpu_ms_per_call"]}

print(f"### Run ({'smoke' if smoke == '1' else 'full'}), {rounds} round(s), answer size {os.path.getsize(answer)} bytes\n")
print("Medians over the rounds; the spread of requests/s is min–max. Open-loop rows (a rate) measure "
      "latency from when each request was due.\n")
print("| what | concurrency | rate/s | rounds | requests/s | spread | p50 ms | p99 ms | p99.9 ms | server CPU ms/call | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (label, c, rate, new_connections, resumption), rs in groups.items():
    what = label + (" (new connection each)" if new_connections else "") + (", no resumption" if new_connections and not resumption else "")
    spread = f"{min(r['rps'] for r in rs):.0f}–{max(r['rps'] for r in rs):.0f}" if len(rs) > 1 else ""
    cpu = median(rs, "server_cpu_ms_per_call")  # 0: not measured here (the peers report theirs)
    cpu_text = f"{cpu:.3f}" if cpu else "–"
    print(f"| {what} | {c} | {rate:.0f} | {len(rs)} | {median(rs, 'rps'):.0f} | {spread} | {median(rs, 'p50_ms'):.2f} | "
          f"{median(rs, 'p99_ms'):.2f} | {median(rs, 'p999_ms'):.2f} | {cpu_text} | {sum(r['errors'] for r in rs)} |")
print()
floor_name = "ceiling+sign+durable"
for c in sorted({k[1] for k in groups if k[0] == "ceiling" and not k[2]}):
    ceiling, floor, ours = row("ceiling", c), row(floor_name, c), row(f"ep116-{small_persons}", c)
    if ceiling and floor and ours:
        print(f"- EP116 at concurrency {c}: {ours['rps']:.0f}/s = **{100*ours['rps']/floor['rps']:.0f}% of the floor** "
              f"({floor['rps']:.0f}/s; goal at 64: 75 %), {100*ours['rps']/ceiling['rps']:.0f}% of the bare ceiling "
              f"({ceiling['rps']:.0f}/s); p99 {ours['p99_ms']:.2f} ms = **{ours['p99_ms']/floor['p99_ms']:.1f}× the floor's** "
              f"({floor['p99_ms']:.2f} ms; goal at 16: 1.5×); server CPU {ours['server_cpu_ms_per_call']:.3f} ms/call, "
              f"the floor's {floor['server_cpu_ms_per_call']:.3f}")
    ivis = row(f"ep116-{small_persons}-ivis", c)
    if ivis and ours:
        print(f"- EP116 IVIS (fresh MessageID per call) at concurrency {c}: {ivis['rps']:.0f}/s = "
              f"**{100*ivis['rps']/ours['rps']:.0f}%** of the plain style (goal 90 %)")
for share in (50, 80):
    for label in (f"ep116-{small_persons}-open{share}", f"{floor_name}-open{share}"):
        found = [(k, v) for k, v in groups.items() if k[0] == label]
        for (_, c, rate, _, _), rs in found:
            print(f"- open loop, {label} at {rate:.0f}/s ({share} % of its maximum): p50 {median(rs, 'p50_ms'):.2f} ms, "
                  f"p99 {median(rs, 'p99_ms'):.2f} ms, p99.9 {median(rs, 'p999_ms'):.2f} ms")
for c in sorted({r["concurrency"] for r in rows if r["label"].startswith("peer-")}):
    for operation in ["ep115", "ep116"]:
        ours = row(f"{operation}-{small_persons}", c)
        peers = [r for r in rows if r["label"].startswith("peer-") and r["label"].endswith(operation) and r["concurrency"] == c]
        if ours and peers:
            print(f"- {operation.upper()} at concurrency {c}: ours {ours['rps']:.0f}/s; " + ", ".join(
                f"{r['label'][5:-6]} {r['rps']:.0f}/s (ours ×{ours['rps']/max(r['rps'], 1e-9):.1f})" for r in peers))
small = row(f"ep116-{small_persons}", 16)
large = row("ep116-2000000", 16)
if small and large:
    print(f"- EP116 p50 at 2 million persons / at 10 thousand: {large['p50_ms']/small['p50_ms']:.2f}")
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
