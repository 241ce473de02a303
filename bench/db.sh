#!/usr/bin/env bash
# Whole-process timings against PostgreSQL, for the figures in the issues' closing notes.
#
#   bench/db.sh [RUNS]        (default 5; needs hyperfine, psql and a server on 127.0.0.1:5432)
#
# 1. `dapp db current`, a no-op `dapp db upgrade` and `dapp db startup -- true` on an
#    up-to-date database (hyperfine),
#    and the number of round trips a no-op upgrade makes after connecting.
# 2. Applying 1,000 small revisions from empty, against `psql -1 -f` of the same SQL
#    concatenated, alternating the two on fresh databases; medians and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
server=${DAPP_BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
db=dapp_bench_$$
work=$(mktemp -d)
trap 'psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null; rm -rf "$work"' EXIT

cargo build --release -q
dapp=$PWD/target/release/dapp
fresh() { psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null; }
export DATABASE_URL="$server/$db"

python3 bench/gen.py "$work/chain/versions" 1000 --shape chain --plain "$work/plain.sql"

echo "== current and no-op upgrade (examples/quickstart, up to date)"
fresh
"$dapp" db -d examples/quickstart/migrations upgrade 2>/dev/null
hyperfine -N --warmup 5 --runs 100 --export-markdown "$work/small.md" \
  "$dapp db -d examples/quickstart/migrations current" \
  "$dapp db -d examples/quickstart/migrations upgrade" \
  "$dapp db -d examples/quickstart/migrations startup -- true" >/dev/null
cat "$work/small.md"
DAPP_DEBUG=1 "$dapp" db -d examples/quickstart/migrations upgrade 2>&1 | grep round

echo
echo "== 1,000 revisions from empty: dapp db upgrade vs psql -1 -f ($runs runs each, alternating)"
: > "$work/psql.t"; : > "$work/dapp.t"
for _ in $(seq "$runs"); do
  fresh
  /usr/bin/time -f %e -a -o "$work/psql.t" psql "$DATABASE_URL" -q -1 -f "$work/plain.sql" >/dev/null
  fresh
  /usr/bin/time -f %e -a -o "$work/dapp.t" "$dapp" db -d "$work/chain" upgrade 2>/dev/null
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
p=$(median "$work/psql.t"); d=$(median "$work/dapp.t")
echo "psql -1 -f:      $(tr '\n' ' ' < "$work/psql.t")-> median ${p}s"
echo "dapp db upgrade: $(tr '\n' ' ' < "$work/dapp.t")-> median ${d}s"
awk -v d="$d" -v p="$p" 'BEGIN {printf "ratio dapp/psql: %.2f\n", d/p}'

echo
echo "== current and no-op upgrade with 1,000 revisions applied"
hyperfine -N --warmup 3 --runs 30 --export-markdown "$work/big.md" \
  "$dapp db -d $work/chain current" \
  "$dapp db -d $work/chain upgrade" >/dev/null
cat "$work/big.md"
