"""Compare two dumps of scripts/dump_tables.py: usage compare_table_dumps.py before.json after.json."""
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
VOLATILE = {"computed_at", "ingested_at", "elapsed_s", "created_at", "materialized_at", "run_id", "requested_at"}
same = differ_volatile = 0; problems = []
for k in sorted(set(a) | set(b)):
    if k not in a or k not in b: problems.append(f"{k}: only in {'before' if k in a else 'after'}"); continue
    x, y = a[k], b[k]
    if x["rows"] != y["rows"]: problems.append(f"{k}: rows {x['rows']} -> {y['rows']}"); continue
    if x["hash"] == y["hash"]: same += 1; continue
    cols = [c for c in set(x["cols"]) | set(y["cols"]) if x["cols"].get(c) != y["cols"].get(c)]
    if x["stable"] == y["stable"]: differ_volatile += 1; print(f"{k}: identical rows except {sorted(cols)} (run timestamps)")
    else: problems.append(f"{k}: columns differ {sorted(cols)}")
print(f"{len(set(a)|set(b))} objects: {same} byte-identical, {differ_volatile} identical except run timestamps, {len(problems)} differ")
for p in problems: print("  DIFF", p)
