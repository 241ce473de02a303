#!/usr/bin/env bash
# `dapp db upgrade --all` over many tenant schemas, against a shell loop of single
# `dapp db upgrade` runs over the same schemas, in the same run of this script.
#
#   bench/fleet.sh [SCHEMAS] [REVISIONS] [JOBS] [SHAPE]   (default 1000 10 8 tenant)
#
# Each side gets a fresh database with SCHEMAS empty schemas `tenant_NNNN`. SHAPE is bench/gen.py's:
# `tenant` (one table created, then a column added per revision) or `chain` (a new table with a
# primary key per revision: DDL-heavy, so the server's own work dominates both sides). The loop points each run at its schema the way a user would: the
# version table's schema with --version-table-schema, the search_path in the URL's options.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
revs=${2:-10}
jobs=${3:-8}
shape=${4:-tenant}
server=${DAPP_BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
work=$(mktemp -d)
db=dapp_fleet_$$
trap 'psql "$server/postgres" -qc "DROP DATABASE IF EXISTS ${db}_all" -c "DROP DATABASE IF EXISTS ${db}_loop" 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release -q
dapp=$PWD/target/release/dapp
python3 bench/gen.py "$work/m/versions" "$revs" --shape "$shape" >/dev/null

for side in all loop; do
  psql "$server/postgres" -qc "DROP DATABASE IF EXISTS ${db}_$side" -c "CREATE DATABASE ${db}_$side"
  seq -f "CREATE SCHEMA tenant_%04g;" 1 "$n" | psql "$server/${db}_$side" -q
done

echo "== $n tenant schemas x $revs revisions ($shape)"
start=$(date +%s.%N)
DAPP_TENANT_SCHEMAS='tenant\_%' DATABASE_URL="$server/${db}_all" \
  "$dapp" db -d "$work/m" upgrade --all --jobs "$jobs" >"$work/all.out" 2>"$work/all.err"
all=$(echo "$(date +%s.%N) - $start" | bc -l)
tail -n 1 "$work/all.err"

start=$(date +%s.%N)
for i in $(seq -f "%04g" 1 "$n"); do
  DATABASE_URL="$server/${db}_loop?options=-csearch_path%3Dtenant_$i" \
    "$dapp" db -d "$work/m" --version-table-schema "tenant_$i" upgrade 2>/dev/null
done
loop=$(echo "$(date +%s.%N) - $start" | bc -l)

echo "schemas migrated: --all $(psql "$server/${db}_all" -qtAc "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alembic_version' AND table_schema LIKE 'tenant%'"), loop $(psql "$server/${db}_loop" -qtAc "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alembic_version' AND table_schema LIKE 'tenant%'") (want $n)"
printf 'upgrade --all --jobs %s: %.2f s\nshell loop:             %.2f s\nspeed-up:               %.1fx\n' \
  "$jobs" "$all" "$loop" "$(echo "$loop / $all" | bc -l)"
