#!/usr/bin/env bash
# Whole-process timing of the static lint of N generated revisions (no database).
#
#   bench/lint.sh [N]        (default 1000)
#
# bench/gen.py --shape lint writes a linear chain of an app's DDL (tables with their indexes,
# columns under a lock_timeout, CONCURRENTLY indexes in non-transactional revisions, NOT VALID
# then VALIDATE, SET NOT NULL after a validated check), with an unsafe CREATE INDEX every tenth
# revision. `dapp db lint -r base:heads` parses every statement with PostgreSQL's grammar and
# judges it with the schema model of the revisions before. The goal: under 300 ms for 1,000.
# Uses hyperfine when it is installed, else the median of 20 runs.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q
dapp=$PWD/target/release/dapp
python3 bench/gen.py "$work/m/versions" "$n" --shape lint
dir="$work/m"
cmd="$dapp db -d $dir lint -r base:heads"
env -u DATABASE_URL $cmd | tail -1
if command -v hyperfine >/dev/null 2>&1; then
  env -u DATABASE_URL hyperfine -N -i --warmup 3 --runs 30 "$cmd" | sed "s|$dapp|dapp|; s|$dir|DIR|"
else
  env -u DATABASE_URL python3 - "$cmd" <<'PY'
import statistics, subprocess, sys, time
cmd = sys.argv[1].split()
runs = []
for _ in range(23):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs.append(time.perf_counter() - t)
runs = sorted(runs[3:])
print(f"median {statistics.median(runs) * 1000:.1f} ms, min {runs[0] * 1000:.1f} ms, max {runs[-1] * 1000:.1f} ms over {len(runs)} runs")
PY
fi
