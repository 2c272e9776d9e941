#!/usr/bin/env bash
# The register import benchmark (BENCHMARKS.md, "Register import"): on this machine it
#  1. builds the service, `loadgen` and `demo_export` (release),
#  2. writes the demo register of N persons (default 2 million) as a full export,
#  3. imports it into an empty SQLite store under /usr/bin/time -v (wall time, peak RSS),
#  4. imports a delta of 10,000 changed persons (their first names changed) the same way,
#  5. starts the service on the imported register and drives EP116 at concurrency 16 while
#     the register is quiet, then again while a full import of the same export runs beside it
#     (answers must keep their latency within 1.5x),
#  6. with BENCH_POSTGRES set (postgres://…), repeats 3 on PostgreSQL (a database it creates
#     and drops).
# Usage: bench/import.sh [PERSONS]      (work files in $BENCH_DIR, default bench/data)
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${1:-2000000}
seconds=${BENCH_SECONDS:-20}
cargo build --locked --release --bin spolis-adapter --example loadgen --example demo_export >&2
target=${CARGO_TARGET_DIR:-target}/release
bin=$target/spolis-adapter
work=${BENCH_DIR:-bench/data}/import-$persons
mkdir -p "$work"
export_file="$work/export.xml"
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT

[ -f "$export_file" ] || "$target/examples/demo_export" "$export_file" "$persons" 1 >&2
echo "export: $persons persons, $(du -m "$export_file" | cut -f1) MB"

timed() { # label command... ; prints wall seconds and peak RSS
  local label=$1; shift
  /usr/bin/time -v "$@" 2> "$work/time-$label" >/dev/null || { cat "$work/time-$label" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time-$label")
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$work/time-$label")
  echo "$label: wall $wall, peak RSS $rss MB"
}

rm -rf "$work/sqlite"; mkdir -p "$work/sqlite"
timed import-full-sqlite "$bin" register import --data-dir "$work/sqlite" "$export_file"

# A delta: the first 10,000 persons of the export, each with a changed first name.
delta="$work/delta.xml"
python3 - "$export_file" "$delta" <<'PY'
import sys
source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as f, open(target, "w", encoding="utf-8") as out:
    head = []
    for line in f:
        if "<Persons>" in line:
            break
        head.append(line)
    text = "".join(head)
    out.write(text[: text.index("<Kind>")] + "<Kind>delta</Kind>\n<Persons>\n")
    persons, inside = 0, False
    for line in f:
        if "<Person>" in line:
            inside = True
        if inside:
            if line.lstrip().startswith("<FirstName>"):
                line = line.replace("</FirstName>", "-D</FirstName>", 1)
            out.write(line)
        if "</Person>" in line:
            inside = False
            persons += 1
            if persons == 10000:
                break
    out.write("</Persons>\n</RegisterExport>\n")
PY
timed import-delta-10k-sqlite "$bin" register import --delta --data-dir "$work/sqlite" "$delta"

# Answers during an import: EP116 at 16 connections, quiet, then beside a full import.
"$bin" demo --listen 127.0.0.1:0 --ops-listen 127.0.0.1:0 --data-dir "$work/sqlite" > "$work/stdout" 2> "$work/stderr" &
pids+=("$!")
for _ in $(seq 1 600); do grep -q "listening on" "$work/stdout" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*listening on https:\/\/localhost:\([0-9]*\).*/\1/p' "$work/stdout")
drive() {
  "$target/examples/loadgen" --url "https://localhost:$port/GetQueueStatusList" --cert certs-example/riga.crt --key certs-example/riga.key \
    --ca certs-example/ca.crt --body bench/GetQueueStatusList.xml --register "$work/sqlite/spolis.sqlite3" --concurrency 16 \
    --seconds "$seconds" --label "$1"
}
drive ep116-quiet
"$bin" register import --data-dir "$work/sqlite" "$export_file" > /dev/null 2> "$work/import-during-load" &
import_pid=$!
sleep 2
drive ep116-during-import
wait "$import_pid"

if [ -n "${BENCH_POSTGRES:-}" ]; then
  db="spolis_import_bench_$$"
  psql "$BENCH_POSTGRES" -qc "CREATE DATABASE $db"
  url="${BENCH_POSTGRES%/*}/$db"
  timed import-full-postgres "$bin" register import --data-dir "$work/sqlite" --database-url "$url" "$export_file"
  timed import-delta-10k-postgres "$bin" register import --delta --data-dir "$work/sqlite" --database-url "$url" "$delta"
  psql "$BENCH_POSTGRES" -qc "DROP DATABASE $db"
fi
