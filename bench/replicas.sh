#!/usr/bin/env bash
# Many replicas of `dapp db startup` started together on an empty database, against one alone,
# for the figure in the issue's closing note (goal: the replicas within 1.5x of one alone).
#
#   bench/replicas.sh [REPLICAS] [REVISIONS] [ROUNDS]   (default 32 20 3)
#
# Needs only bash, date and a PostgreSQL server (DATABASE_URL, default the local `postgres`
# database). Each revision is `SELECT pg_sleep(0.02)`; each measurement gets its own version
# and history tables (`dapp_bench_<pid>_<n>`), so it starts from an empty database and has
# its own lock. Prints the best of ROUNDS for each side and their ratio. The tables are
# dropped at the end when psql is there; otherwise their names are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
replicas=${1:-32}
revs=${2:-20}
rounds=${3:-3}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
work=$(mktemp -d)
tables=()
cleanup() {
  if ((${#tables[@]})) && command -v psql >/dev/null; then
    for t in "${tables[@]}"; do echo "DROP TABLE IF EXISTS $t, ${t}_h;"; done | psql "$DATABASE_URL" -q
  elif ((${#tables[@]})); then
    echo "left behind (version table and <name>_h): ${tables[*]}"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q
dapp=$PWD/target/release/dapp

mkdir -p "$work/m/versions"
prev=
for i in $(seq 1 "$revs"); do
  id=$(printf 'be%010d' "$i")
  cat >"$work/m/versions/${id}_sleep.sql" <<SQL
-- sleep $i
--
-- Revision ID: $id
-- Revises: $prev
-- Create Date: 2026-12-01 00:00:00.000000

-- migrate:upgrade
SELECT pg_sleep(0.02);

-- migrate:downgrade
SELECT 1;
SQL
  prev=$id
done

n=0
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# One measurement: COUNT replicas together on fresh tables; sets `ms` (milliseconds).
measure() {
  local count=$1 t pids=() start i failed=0
  n=$((n + 1))
  t=dapp_bench_$$_$n
  tables+=("$t")
  start=$(now_ms)
  for i in $(seq 1 "$count"); do
    AUTO_MIGRATE=true "$dapp" db -d "$work/m" --version-table "$t" --history-table "${t}_h" \
      startup >"$work/out.$i" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=$((failed + 1)); done
  ms=$(($(now_ms) - start))
  if ((failed)); then
    echo "$failed replica(s) failed; the first one's output:" >&2
    cat "$work/out.1" >&2
    exit 1
  fi
}

# The best of ROUNDS measurements of COUNT replicas; sets `b`.
best() {
  local count=$1 r
  b=
  for r in $(seq 1 "$rounds"); do
    measure "$count"
    if [[ -z $b || $ms -lt $b ]]; then b=$ms; fi
  done
}

echo "== dapp db startup on an empty database, $revs revisions of pg_sleep(0.02), best of $rounds"
best 1
one=$b
best "$replicas"
many=$b
ratio=$((many * 100 / one))
printf 'one alone:            %5d ms\n%2d replicas together: %5d ms\nratio:                %d.%02dx\n' \
  "$one" "$replicas" "$many" $((ratio / 100)) $((ratio % 100))
