"""Rebuild ``futures_1m/es_1m_firstrate_2022-12_2023-03.csv.gz`` from its public source (see PROVENANCE.md).

Source: FirstRate Data ES continuous 1-minute bars as committed, one JSON file per calendar date, in
github.com/edisoniver/trading-deliberate-practice at commit 1dfd998f12059a26d5880ba06f185bb2b0d9ae62,
folder ``dailydata/`` (the same repository and commit as the shared sample's
``futures_1m/es_1m_firstrate_2023-03.csv``). Rows are written in that sample's format (US/Eastern bar
start, prices with two decimals) under the header of the other FirstRate samples, nothing else
changed: no row added, dropped, reordered or filled.

    python benchmarks/data/extract_es_month.py /path/to/mirror.git [--check ../shared/data]

``--check`` compares every overlapping minute with the shared two-week sample, byte for byte.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path

COMMIT = "1dfd998f12059a26d5880ba06f185bb2b0d9ae62"
FIRST, LAST = "2022-12-18 18:00:00", "2023-03-24 16:59:00"  # 68 Globex sessions, 2022-12-19..2023-03-24
OUT = Path(__file__).resolve().parent / "futures_1m" / "es_1m_firstrate_2022-12_2023-03.csv.gz"
HEADER = "timestamp,open,high,low,close,volume"


def _git(repo: str, *args: str) -> bytes:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, check=True).stdout


def rows(repo: str) -> list[str]:
    names = _git(repo, "ls-tree", "--name-only", COMMIT, "dailydata/").decode().split()
    out = []
    for name in sorted(names):
        day = Path(name).stem
        if not FIRST[:10] <= day <= LAST[:10]:
            continue
        for r in json.loads(_git(repo, "show", f"{COMMIT}:{name}")):
            if FIRST <= r["dateTime"] <= LAST:
                out.append(
                    f"{r['dateTime']},{r['open']:.2f},{r['high']:.2f},{r['low']:.2f},{r['close']:.2f},"
                    f"{int(r['volume'])}"
                )
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", help="git directory of the fetched edisoniver/trading-deliberate-practice snapshot")
    parser.add_argument(
        "--check", type=Path, help="shared data root: compare with futures_1m/es_1m_firstrate_2023-03.csv"
    )
    args = parser.parse_args()
    lines = rows(args.repo)
    if lines != sorted(lines) or len(set(lines)) != len(lines):
        raise SystemExit("source rows are not strictly increasing")
    if args.check:
        sample = (args.check / "futures_1m" / "es_1m_firstrate_2023-03.csv").read_text().splitlines()
        index = {line.split(",")[0]: line for line in lines}
        differing = [s for s in sample if index.get(s.split(",")[0]) != s]
        print(f"overlap with the shared 2023-03 sample: {len(sample)} rows, {len(differing)} differ")
        if differing:
            return 1
    # mtime=0: the same bytes on every rebuild (the checksum in PROVENANCE.md stays valid)
    with OUT.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(("\n".join([HEADER, *lines]) + "\n").encode())
    print(f"{OUT.name}: {len(lines)} rows, {lines[0][:19]} .. {lines[-1][:19]} ET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
