#!/usr/bin/env bash
# Applying 1,000 small revisions to a fresh SQLite file: `dapp db upgrade` against the sqlite3
# shell running the same SQL in one transaction, measured by hyperfine in the same run (each
# run starts from no file).
#
#   bench/sqlite.sh [RUNS] [N]    (default 20 1000; needs hyperfine and the sqlite3 shell)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
n=${2:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q
dapp=$PWD/target/release/dapp
python3 bench/gen.py "$work/m/versions" "$n" --shape chain --plain "$work/plain.sql" >/dev/null
{ echo "BEGIN;"; cat "$work/plain.sql"; echo "COMMIT;"; } > "$work/one_tx.sql"
cat > "$work/dapp.sh" <<SH
#!/bin/sh
DATABASE_URL="sqlite:///$work/b.db" exec "$dapp" db -d "$work/m" upgrade 2>/dev/null
SH
cat > "$work/shell.sh" <<SH
#!/bin/sh
exec sqlite3 "$work/a.db" < "$work/one_tx.sql"
SH
chmod +x "$work/dapp.sh" "$work/shell.sh"

echo "== $n revisions, fresh SQLite file"
hyperfine -N --warmup 2 --runs "$runs" --export-markdown "$work/t.md" \
  --prepare "rm -f $work/a.db $work/b.db $work/b.db.dapp-lock" \
  -n "sqlite3 shell, one transaction" "$work/shell.sh" \
  -n "dapp db upgrade" "$work/dapp.sh" >/dev/null
cat "$work/t.md"
[ "$(sqlite3 "$work/b.db" 'SELECT count(*) FROM alembic_version_history')" = "$n" ]
