#!/usr/bin/env bash
# A fresh database from a long history vs from its squashed baseline, for the figure in the
# squash issue's closing note.
#
#   bench/squash.sh [RUNS] [SHAPE...]   (default 3 runs; shapes tenant and chain; needs psql and
#                                        a server on 127.0.0.1:5432; DAPP_BIN to skip the build)
#
# For each shape, bench/gen.py writes 1,000 revisions; `dapp db upgrade` builds a fresh
# database from them, then `dapp db squash --to head` writes one baseline (the old files are
# moved away, as the workflow ends) and `dapp db upgrade` builds a fresh database from it.
# Medians of RUNS alternating runs, and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
shapes=${*:-tenant chain}
server=${DAPP_BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
db=dapp_bench_squash_$$
work=$(mktemp -d)
trap 'psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db" 2>/dev/null; rm -rf "$work"' EXIT

if [ -z "${DAPP_BIN:-}" ]; then
  cargo build --release -q
  DAPP_BIN=$PWD/target/release/dapp
fi
dapp=$DAPP_BIN
fresh() { psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null; }
export DATABASE_URL="$server/$db"
export DAPP_DEV_URL="$server/postgres"
median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

for shape in $shapes; do
  echo "== $shape: 1,000 revisions vs their squashed baseline ($runs runs each, alternating)"
  full=$work/$shape-full
  squashed=$work/$shape-squashed
  python3 bench/gen.py "$full/versions" 1000 --shape "$shape"
  mkdir -p "$squashed/versions"
  head=$("$dapp" db -d "$full" heads | awk '{print $1; exit}')
  /usr/bin/time -f "squash took %es" "$dapp" db -d "$full" squash -m "baseline" --to "$head" --rev-id baseline >/dev/null
  mv "$full"/versions/baseline_*.sql "$squashed/versions/"
  : > "$work/full.t"; : > "$work/squashed.t"
  for _ in $(seq "$runs"); do
    fresh
    /usr/bin/time -f %e -a -o "$work/full.t" "$dapp" db -d "$full" upgrade 2>/dev/null
    fresh
    /usr/bin/time -f %e -a -o "$work/squashed.t" "$dapp" db -d "$squashed" upgrade 2>/dev/null
  done
  [ "$("$dapp" db -d "$squashed" current 2>/dev/null | awk '{print $1; exit}')" = "$head" ] \
    || { echo "the squashed database is not at $head" >&2; exit 1; }
  f=$(median "$work/full.t"); s=$(median "$work/squashed.t")
  echo "1,000 revisions:   $(tr '\n' ' ' < "$work/full.t")-> median ${f}s"
  echo "squashed baseline: $(tr '\n' ' ' < "$work/squashed.t")-> median ${s}s"
  awk -v f="$f" -v s="$s" 'BEGIN {printf "speed-up: %.1fx\n\n", (s > 0 ? f/s : 0)}'
done
