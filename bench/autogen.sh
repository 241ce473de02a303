#!/usr/bin/env bash
# Autogenerate end to end: `dapp db migrate -m` on a 200-table schema with one column changed,
# scratch databases included (two created, the revisions replayed into one, the desired schema
# loaded into the other, both inspected, the migration proven both ways, both dropped).
#
#   bench/autogen.sh [RUNS] [TABLES]     (default 5 runs, 200 tables; a server on 127.0.0.1:5432;
#                                         DAPP_BIN=path/to/dapp skips the release build)
#
# Goal: under 2 s. Prints each run's wall time and the median; DAPP_DEBUG=1 shows the phases.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
tables=${2:-200}
server=${DAPP_BENCH_SERVER:-postgres://postgres@127.0.0.1:5432}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "${KEEP:-}" ] && trap - EXIT && echo "work: $work"

if [ -z "${DAPP_BIN:-}" ]; then cargo build --release -q; fi
dapp=${DAPP_BIN:-$PWD/target/release/dapp}

python3 - "$work" "$tables" <<'EOF'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
def table(i, changed=False):
    ref = f",\n    parent_id bigint REFERENCES t{i-1} (id)" if i > 0 else ""
    note = "varchar(200)" if changed else "varchar(100)"
    return (f"CREATE TABLE t{i} (\n    id bigint PRIMARY KEY,\n    name text NOT NULL,\n"
            f"    note {note},\n    created_at timestamptz NOT NULL DEFAULT now(){ref}\n);\n"
            f"CREATE INDEX t{i}_name_idx ON t{i} (name);\n")
os.makedirs(f"{work}/migrations/versions")
body = "".join(table(i) for i in range(n))
down = "".join(f"DROP TABLE t{i};\n" for i in reversed(range(n)))
with open(f"{work}/migrations/versions/0001_tables.sql", "w") as f:
    f.write("-- tables\n--\n-- Revision ID: 0001\n-- Revises: \n\n-- migrate:upgrade\n"
            + body + "\n-- migrate:downgrade\n" + down)
with open(f"{work}/schema.sql", "w") as f:
    f.write("".join(table(i, changed=(i == n // 2)) for i in range(n)))
with open(f"{work}/dapp-migrate.toml", "w") as f:
    f.write('script_location = "migrations"\nschema = "schema.sql"\n')
EOF

export DATABASE_URL="$server/postgres"
cd "$work"
times=()
for i in $(seq "$runs"); do
  rm -f migrations/versions/*_one_column.sql
  start=$(date +%s.%N)
  "$dapp" db migrate -m "one column" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  times+=("$t")
  printf 'run %d: %.3f s\n' "$i" "$t"
done
grep -c . migrations/versions/*_one_column.sql >/dev/null
sed -n '/migrate:upgrade/,$p' migrations/versions/*_one_column.sql
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median of %d runs, %s tables: %.3f s (goal: under 2 s)\n", NR, '"$tables"', a[int((NR+1)/2)]}'
