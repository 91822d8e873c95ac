"""The floor plan's layer rules, checked on every import the package makes (parsed with ast).

- kernels/ import only kernels/ of the project, and no dagster, polars, duckdb or IO module;
- the domain wings (market ... checklist) import no dagster, no warehouse/ and no IO: no file,
  network or environment access (``open``, ``os``, ``pathlib``, ``urllib`` ...); only
  sources/schemas and sources/errors of the sources wing;
- dashboard/ imports no dagster and nothing of defs/;
- no module imports another module's private (``_``-prefixed) name;
- at most 8 modules sit at the top of mes_assets/;
- no literal table name outside sql/ and the named queries (warehouse/queries.py).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mes_assets"
DOMAIN_WINGS = ("market", "levels", "features", "forecast", "montecarlo", "gamma", "checklist")
IO_MODULES = {
    "dagster",
    "duckdb",
    "google",
    "databento",
    "urllib",
    "requests",
    "http",
    "socket",
    "os",
    "pathlib",
    "io",
    "shutil",
    "subprocess",
    "sqlite3",
    "zipfile",
    "gzip",
    "tempfile",
    "glob",
}
KERNEL_FORBIDDEN = IO_MODULES | {"polars", "pandas", "xgboost"}
# the one jit shim reads MES_DISABLE_NUMBA (a debugging switch), nothing else in kernels/ touches os
KERNEL_IO_EXCEPTIONS = {("_numba.py", "os")}
DOMAIN_ALLOWED_SOURCES = {"mes_assets.sources.schemas", "mes_assets.sources.errors"}


@dataclass(frozen=True)
class Import:
    module: str  # absolute module imported from
    names: tuple[str, ...]  # names taken from it ('' for a plain `import x`)
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(Import(a.name, ("",), node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.append(Import(base, tuple(a.name for a in node.names), node.lineno))
    return out


def calls_open(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "open"
    ]


def modules(under: str = "") -> list[Path]:
    root = PACKAGE / under if under else PACKAGE
    return sorted(p for p in root.rglob("*.py") if "sql" not in p.relative_to(PACKAGE).parts[:1])


def top(module: str) -> str:
    return module.split(".")[0]


def violations(paths: list[Path], rule) -> list[str]:
    found = []
    for path in paths:
        for imp in imports_of(path):
            why = rule(imp)
            if why:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{imp.line} imports {imp.module} ({why})")
    return found


def test_the_import_parser_sees_relative_and_nested_imports(tmp_path):
    # the rules below are only as good as this parser: a relative import, a function-local import
    pkg = PACKAGE / "kernels" / "__init__.py"
    assert module_name(pkg) == "mes_assets.kernels"
    probe = PACKAGE / "kernels" / "montecarlo.py"
    assert any(i.module == "mes_assets.kernels.montecarlo_kernels" for i in imports_of(probe))
    src = tmp_path / "x.py"
    src.write_text("def f():\n    import dagster\n")
    tree_imports = [n for n in ast.walk(ast.parse(src.read_text())) if isinstance(n, ast.Import)]
    assert tree_imports and tree_imports[0].names[0].name == "dagster"


def test_kernels_import_only_kernels_and_no_io():
    found = []
    for path in modules("kernels"):
        for imp in imports_of(path):
            if top(imp.module) in KERNEL_FORBIDDEN and (path.name, top(imp.module)) not in KERNEL_IO_EXCEPTIONS:
                found.append(f"{path.name}:{imp.line} {imp.module} (forbidden in kernels)")
            if imp.module.startswith("mes_assets") and not imp.module.startswith("mes_assets.kernels"):
                found.append(f"{path.name}:{imp.line} {imp.module} (kernels import only kernels)")
    assert found == []
    assert [p for p in modules("kernels") if calls_open(p)] == []


@pytest.mark.parametrize("wing", DOMAIN_WINGS)
def test_domain_wings_import_no_dagster_and_do_no_io(wing):
    def rule(imp: Import) -> str | None:
        if top(imp.module) in IO_MODULES:
            return "IO or Dagster in a domain wing"
        if imp.module.startswith(
            (
                "mes_assets.defs",
                "mes_assets.warehouse",
                "mes_assets.dashboard",
                "mes_assets.instance",
                "mes_assets.cli",
                "mes_assets.definitions",
            )
        ):
            return "a domain wing is below defs/, warehouse/ and dashboard/"
        if imp.module.startswith("mes_assets.sources") and imp.module not in DOMAIN_ALLOWED_SOURCES:
            return "domain wings read no source; only sources.schemas / sources.errors"
        return None

    paths = modules(wing)
    assert paths, f"wing {wing}/ is missing"
    assert violations(paths, rule) == []
    assert [str(p) for p in paths if calls_open(p)] == []


def test_dashboard_imports_no_dagster_and_no_defs():
    def rule(imp: Import) -> str | None:
        if top(imp.module) == "dagster":
            return "dagster in the dashboard"
        if imp.module.startswith(("mes_assets.defs", "mes_assets.instance")):
            return "the dashboard reads views through warehouse/ only"
        return None

    assert violations(modules("dashboard"), rule) == []


def test_no_module_imports_another_modules_private_names():
    def rule(imp: Import) -> str | None:
        if not imp.module.startswith("mes_assets"):
            return None
        private = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
        return f"private names {private}" if private else None

    assert violations(modules(), rule) == []


def test_at_most_eight_modules_at_the_top_of_the_package():
    top_level = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top_level) <= 8, top_level


# Backends build generic slice statements (DELETE/INSERT ... SELECT from a staging table) for
# whatever table they are given, and read information_schema: no stored table is named there.
GENERIC_SQL_MODULES = {"warehouse/duckdb_backend.py", "warehouse/bigquery_backend.py"}
_SELECT = re.compile(r"\bSELECT\b", re.IGNORECASE)


def test_stored_tables_are_read_through_named_queries_only():
    # every SELECT text in the package lives in sql/ (DDL, views, transforms, named queries)
    offenders = []
    for path in modules():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in GENERIC_SQL_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SELECT.search(node.value):
                if not (node.value.lstrip().startswith(("\n", "SELECT")) or "FROM" in node.value.upper()):
                    continue  # prose that mentions the word
                offenders.append(f"{rel}:{node.lineno}: {node.value.strip()[:80]!r}")
    assert offenders == []


def test_every_named_query_parses_as_bigquery_and_names_stored_objects():
    import sqlglot

    from mes_assets.warehouse.queries import QUERY_ROOT, query, query_names
    from mes_assets.warehouse.sql_files import load_sql_files

    names = query_names()
    assert names, f"no named queries under {QUERY_ROOT}"
    stored = {f.qualified_name for f in load_sql_files()}
    for name in names:
        parsed = sqlglot.parse_one(query(name), read="bigquery")
        tables = {f"{t.db}.{t.name}" for t in parsed.find_all(sqlglot.exp.Table)}
        assert tables and tables <= stored, f"{name}: reads {tables - stored or tables}"
    with pytest.raises(ValueError, match="no named query"):
        query("no_such_query")
