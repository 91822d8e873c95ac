"""Dump every table and view of the DuckDB files in a folder: row count, whole-table and per-column
hashes of the sorted rows, and a hash without run timestamps. Usage: dump_tables.py .warehouse out.json"""
import hashlib, json, sys, pathlib
import duckdb

root = pathlib.Path(sys.argv[1])
out = {}
for f in sorted(root.glob("*.duckdb")):
    con = duckdb.connect(str(f), read_only=True)
    tabs = con.execute("select table_schema, table_name, table_type from information_schema.tables order by 1,2").fetchall()
    for schema, name, ttype in tabs:
        full = f'"{schema}"."{name}"'
        cols = [r[0] for r in con.execute(f"select column_name from information_schema.columns where table_schema='{schema}' and table_name='{name}' order by ordinal_position").fetchall()]
        n = con.execute(f"select count(*) from {full}").fetchall()[0][0]
        order = ", ".join(f'"{c}"' for c in cols)
        rows = con.execute(f"select * from {full} order by {order}").fetchall() if cols else []
        whole = hashlib.sha256(repr(rows).encode()).hexdigest()
        VOL = {"computed_at", "ingested_at", "elapsed_s", "created_at", "materialized_at", "run_id", "requested_at"}
        keep = [i for i, c in enumerate(cols) if c not in VOL]
        stable_rows = sorted(repr(tuple(r[i] for i in keep)) for r in rows)
        stable = hashlib.sha256("\n".join(stable_rows).encode()).hexdigest()
        percol = {}
        for i, c in enumerate(cols):
            vals = sorted(repr(r[i]) for r in rows)
            percol[c] = hashlib.sha256("\n".join(vals).encode()).hexdigest()[:16]
        out[f"{f.name}:{schema}.{name}"] = {"type": ttype, "rows": n, "hash": whole, "stable": stable, "cols": percol}
json.dump(out, open(sys.argv[2], "w"), indent=1, sort_keys=True)
print(len(out), "tables")
