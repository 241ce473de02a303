#!/usr/bin/env bash
# Whole-process timing of `dapp db lint --trace` of the last revision of a 200-revision history
# (bench/gen.py --shape tenant: one table, a column added per revision): a scratch database is
# made, the 199 revisions before are replayed, the last runs statement by statement with the
# locks read after each, and the scratch database is dropped. The goal: under 3 s.
#
#   bench/lint-trace.sh [N] [RUNS]   (default 200 revisions, 5 runs; a server on 127.0.0.1:5432;
#                                    DAPP_BIN=path/to/dapp skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
runs=${2:-5}
export DATABASE_URL=${DAPP_BENCH_URL:-postgres://postgres@127.0.0.1:5432/postgres}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "${DAPP_BIN:-}" ]; then cargo build --release -q; fi
dapp=${DAPP_BIN:-$PWD/target/release/dapp}
python3 bench/gen.py "$work/m/versions" "$n" --shape tenant >/dev/null
head=$("$dapp" db -d "$work/m" heads | awk '{print $1}')
python3 - "$runs" "$dapp" "$work/m" "$head" <<'PY'
import statistics, subprocess, sys, time
runs, dapp, d, head = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
times = []
for _ in range(runs):
    t = time.perf_counter()
    r = subprocess.run([dapp, "db", "-d", d, "lint", "--trace", head],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    times.append(time.perf_counter() - t)
    if r.returncode not in (0, 1):
        sys.exit(f"lint --trace failed (exit {r.returncode}): {r.stderr.strip()}")
print(f"--trace of the head of the history: median {statistics.median(times):.2f} s, "
      f"min {min(times):.2f} s, max {max(times):.2f} s over {runs} runs (goal: under 3 s)")
PY
