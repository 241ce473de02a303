#!/usr/bin/env bash
# Fan-out against the server's limit: for each shape, in one run of this script, three figures:
#   floor  the same revision SQL applied by JOBS parallel psql sessions, one transaction per
#          schema (BEGIN; SET LOCAL search_path; the upgrade bodies; COMMIT) — what the server
#          costs with no tool around it;
#   --all  `dapp db upgrade --all --jobs JOBS` over the same schemas;
#   loop   a shell loop of single `dapp db upgrade` runs, one per schema;
# and the ratios to the floor.
#
#   bench/fanout.sh [--big] [--only-big] [--jobs N] [--repeat R]
#
# Shapes: 200 schemas x 3 revisions always; 1,000 schemas x 10 revisions with --big (a few
# minutes: the loop starts 1,000 processes). Revisions are bench/gen.py's `tenant` shape (the
# first creates a table, each later one adds a column). Each side of each shape gets a fresh
# database with the empty schemas made before the clock starts. --repeat R runs each shape R
# times and prints every round (the machine may be shared: compare within a round).
# Needs psql, python3, bc; DAPP_BENCH_SERVER (default postgres://postgres@127.0.0.1:5432);
# DAPP_BIN to measure another dapp binary (an older build, for a before/after comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
big=0
small=1
jobs=8
repeat=1
while [ $# -gt 0 ]; do
  case "$1" in
    --big) big=1 ;;
    --only-big) big=1; small=0 ;;
    --jobs) jobs=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    *) echo "usage: bench/fanout.sh [--big] [--only-big] [--jobs N] [--repeat R]" >&2; exit 2 ;;
  esac
  shift
done
server=${DAPP_BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
work=$(mktemp -d)
db=dapp_fanout_$$
drop_all() {
  for side in floor all loop; do
    psql "$server/postgres" -qc "DROP DATABASE IF EXISTS ${db}_$side" 2>/dev/null || true
  done
}
trap 'drop_all; rm -rf "$work"' EXIT

# DAPP_BIN: a dapp binary to measure instead of this checkout's release build.
if [ -n "${DAPP_BIN:-}" ]; then
  dapp=$DAPP_BIN
else
  cargo build --release -q
  dapp=$PWD/target/release/dapp
fi

now() { date +%s.%N; }

fresh() { # fresh DB N: a new database with N empty schemas tenant_0001…
  psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
  seq -f "CREATE SCHEMA tenant_%04g;" 1 "$2" | psql "$server/$1" -q
}

migrated() { # DB: schemas at the head revision
  psql "$server/$1" -qtAc "SELECT count(*) FROM pg_namespace n WHERE nspname LIKE 'tenant%' AND to_regclass(quote_ident(nspname) || '.alembic_version') IS NOT NULL" 2>/dev/null
}

shape() { # shape N REVS
  local n=$1 revs=$2
  local m="$work/m_${n}_$revs"
  rm -rf "$m"
  python3 bench/gen.py "$m/versions" "$revs" --shape tenant --plain "$work/plain.sql" >/dev/null

  # floor: JOBS psql sessions, schemas dealt round-robin, one transaction per schema.
  fresh "${db}_floor" "$n"
  for j in $(seq 0 $((jobs - 1))); do : >"$work/floor_$j.sql"; done
  for i in $(seq 1 "$n"); do
    s=$(printf 'tenant_%04d' "$i")
    {
      echo "BEGIN; SET LOCAL search_path TO $s, public;"
      cat "$work/plain.sql"
      echo "COMMIT;"
    } >>"$work/floor_$(( (i - 1) % jobs )).sql"
  done
  start=$(now)
  pids=()
  for j in $(seq 0 $((jobs - 1))); do
    psql "$server/${db}_floor" -q -v ON_ERROR_STOP=1 -f "$work/floor_$j.sql" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  floor=$(echo "$(now) - $start" | bc -l)
  floor_done=$(psql "$server/${db}_floor" -qtAc "SELECT count(*) FROM information_schema.tables WHERE table_name = 'items' AND table_schema LIKE 'tenant%'")

  fresh "${db}_all" "$n"
  start=$(now)
  DAPP_TENANT_SCHEMAS='tenant\_%' DATABASE_URL="$server/${db}_all" \
    "$dapp" db -d "$m" upgrade --all --jobs "$jobs" >"$work/all.out" 2>"$work/all.err" \
    || { tail -n 3 "$work/all.err" >&2; exit 1; }
  all=$(echo "$(now) - $start" | bc -l)

  fresh "${db}_loop" "$n"
  start=$(now)
  for i in $(seq -f "%04g" 1 "$n"); do
    DATABASE_URL="$server/${db}_loop?options=-csearch_path%3Dtenant_$i" \
      "$dapp" db -d "$m" --version-table-schema "tenant_$i" upgrade 2>/dev/null
  done
  loop=$(echo "$(now) - $start" | bc -l)

  echo "== $n schemas x $revs revisions, --jobs $jobs"
  echo "   done: floor $floor_done, --all $(migrated "${db}_all"), loop $(migrated "${db}_loop") (want $n)"
  printf '   floor (psql x %s):  %7.2f s\n' "$jobs" "$floor"
  printf '   upgrade --all:     %7.2f s   %.2fx floor\n' "$all" "$(echo "$all / $floor" | bc -l)"
  printf '   loop of singles:   %7.2f s   %.2fx floor\n' "$loop" "$(echo "$loop / $floor" | bc -l)"
  drop_all
}

for round in $(seq 1 "$repeat"); do
  [ "$repeat" -gt 1 ] && echo "-- round $round"
  [ "$small" = 1 ] && shape 200 3
  [ "$big" = 1 ] && shape 1000 10
done
