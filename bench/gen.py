#!/usr/bin/env python3
"""Generate a migrations folder for benchmarks.

    gen.py DIR N [--shape graph|chain|tenant] [--plain FILE]

graph: N revisions in a main line with a branch point every 40 revisions (two short
branches, one with a branch label, one revision depending on the other branch) joined
by a merge; ids are random hex, so file order and graph order differ, as in real projects.
chain: a linear chain of N revisions, each `CREATE TABLE bench_tNNNN (...)`, the workload of
the Alembic timing anchors. tenant: a linear chain that evolves one table the way an app's
schema grows: the first revision creates `items`, the others add a column each. --plain FILE also writes every upgrade body, in order, to FILE:
the same SQL for `psql -1 -f`.
lint: a linear chain of an app's DDL, mostly written the safe way (see lint_revision), for
bench/lint.sh.
"""
import os
import random
import sys

PLAIN = []

def write(d, rid, msg, revises, up, down, labels="", deps="", tx=True):
    PLAIN.append(up)
    with open(os.path.join(d, f"{rid}_{msg.replace(' ', '_')}.sql"), "w") as f:
        f.write(
            f"-- {msg}\n--\n-- Revision ID: {rid}\n-- Revises: {', '.join(revises)}\n"
            f"-- Create Date: 2026-11-24 10:00:00.000000\n-- Branch Labels: {labels}\n"
            f"-- Depends On: {deps}\n-- Transactional: {'true' if tx else 'false'}\n\n-- migrate:upgrade\n{up}\n\n"
            f"-- migrate:downgrade\n{down}\n"
        )

def lint_revision(i):
    """A revision of the `lint` shape: the DDL of a growing app, mostly written the safe way
    (a table with its indexes, columns under a lock_timeout, CONCURRENTLY indexes outside a
    transaction, NOT VALID then VALIDATE), with an unsafe statement every tenth revision."""
    t = f"t{i - i % 6:04d}"
    k = i % 6
    if k == 0:
        ref = f" REFERENCES t{i - 6:04d} (id)" if i >= 6 else ""
        return (f"CREATE TABLE {t} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
                f"    parent_id bigint{ref},\n    name text NOT NULL,\n"
                f"    created_at timestamptz NOT NULL DEFAULT now()\n);\n"
                f"CREATE INDEX {t}_parent ON {t} (parent_id);\n"
                f"COMMENT ON TABLE {t} IS 'bench table {i}';",
                f"DROP TABLE {t};", True)
    if k == 1:
        return (f"SET lock_timeout = '2s';\nALTER TABLE {t} ADD COLUMN note text, ADD COLUMN score integer DEFAULT 0;",
                f"ALTER TABLE {t} DROP COLUMN note, DROP COLUMN score;", True)
    if k == 2:
        return (f"CREATE INDEX CONCURRENTLY {t}_note ON {t} (note) WHERE note IS NOT NULL;",
                f"DROP INDEX CONCURRENTLY {t}_note;", False)
    if k == 3:
        return (f"SET lock_timeout = '2s';\nALTER TABLE {t} ADD CONSTRAINT {t}_score_nn CHECK (score IS NOT NULL) NOT VALID;",
                f"ALTER TABLE {t} DROP CONSTRAINT {t}_score_nn;", True)
    if k == 4:
        unsafe = f"\nCREATE INDEX {t}_name ON {t} (name);" if i % 10 == 4 else ""
        return (f"ALTER TABLE {t} VALIDATE CONSTRAINT {t}_score_nn;{unsafe}",
                "SELECT 1;", True)
    return (f"SET lock_timeout = '2s';\nALTER TABLE {t} ALTER COLUMN score SET NOT NULL;\n"
            f"UPDATE {t} SET note = 'n' WHERE note IS NULL AND id < 1000;\n"
            f"DO $$ BEGIN PERFORM 1; END $$;",
            f"ALTER TABLE {t} ALTER COLUMN score DROP NOT NULL;", True)

def main():
    d, n = sys.argv[1], int(sys.argv[2])
    args = sys.argv[3:]
    opts = dict(zip(args[::2], args[1::2]))
    shape = opts.get("--shape", "graph")
    rnd = random.Random(42)
    os.makedirs(d, exist_ok=True)
    used = set()
    def new_id():
        while True:
            r = "%012x" % rnd.getrandbits(48)
            if r not in used:
                used.add(r)
                return r
    made = 0
    prev = []
    while made < n:
        if shape == "graph" and made % 40 == 39 and made + 8 <= n and prev:
            base = prev
            left, right = [], []
            lp, rp = base, base
            for i in range(3):
                r = new_id()
                write(d, r, f"left {made}", lp, f"SELECT {made};", f"SELECT -{made};", labels=f"l{made}" if i == 0 and made % 1000 == 39 else "")
                lp = [r]; left.append(r); made += 1
            for i in range(3):
                r = new_id()
                deps = left[0] if i == 2 else ""
                write(d, r, f"right {made}", rp, f"SELECT {made};", f"SELECT -{made};", deps=deps)
                rp = [r]; right.append(r); made += 1
            m = new_id()
            write(d, m, f"merge {made}", [left[-1], right[-1]], "", "")
            prev = [m]; made += 1
            continue
        r = new_id()
        if shape == "lint":
            up, down, tx = lint_revision(made)
            write(d, r, f"rev {made}", prev, up, down, tx=tx)
        elif shape == "tenant" and made > 0:
            write(d, r, f"rev {made}", prev,
                  f"ALTER TABLE items ADD COLUMN c{made:04d} integer;",
                  f"ALTER TABLE items DROP COLUMN c{made:04d};")
        elif shape == "tenant":
            write(d, r, f"rev {made}", prev,
                  "CREATE TABLE items (id integer PRIMARY KEY, name varchar(40));",
                  "DROP TABLE items;")
        else:
            write(d, r, f"rev {made}", prev,
                  f"CREATE TABLE bench_t{made:04d} (id integer PRIMARY KEY, name varchar(40));",
                  f"DROP TABLE bench_t{made:04d};")
        prev = [r]; made += 1

    if "--plain" in opts:
        with open(opts["--plain"], "w") as f:
            f.write("\n".join(PLAIN) + "\n")

if __name__ == "__main__":
    main()
