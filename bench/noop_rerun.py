"""Benchmark: what a night with nothing new costs, against a full run, and whether two runs over
the same inputs publish the same bytes.

Each repetition runs the real command line in a fresh warehouse (a full run: Prefect, extraction,
Great Expectations, publishing), then again over the unchanged registry (the no-op rerun).
Prints the seconds of every run, the medians, the ratio, and the determinism check (byte
comparison of every Parquet file and of the DuckDB contents of the first two full runs, with
SOURCE_DATE_EPOCH pinned).

    uv run python bench/noop_rerun.py [--registry samples/registry.yaml] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


def run(registry: Path, warehouse: Path, env: dict) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hotline_budgets.cli", "run", "--registry",
                           str(registry), "--warehouse", str(warehouse)],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        sys.exit(f"run failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return seconds, proc.returncode


def db_contents(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables"
                                           " WHERE table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


def identical(a: Path, b: Path) -> tuple[int, list[str]]:
    """(Parquet files compared, what differs) between two warehouses."""
    files = sorted(p.relative_to(a) for p in a.glob("20*/*.parquet"))
    differ = [str(rel) for rel in files if (a / rel).read_bytes() != (b / rel).read_bytes()]
    dbs = [Path("hotline_budgets.duckdb")] + [Path(p.parent.name) / p.name for p in a.glob("20*/*.duckdb")]
    differ += [f"{rel} (contents)" for rel in dbs if db_contents(a / rel) != db_contents(b / rel)]
    return len(files), differ


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registry", type=Path, default=ROOT / "samples" / "registry.yaml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-noop-"))
    env = os.environ | {"PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": "1764547200",
                        "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(work / "prefect"))}
    fulls, noops = [], []
    for i in range(args.repeat):
        wh = work / f"wh{i}"
        full, code = run(args.registry, wh, env)
        noop, code2 = run(args.registry, wh, env)
        fulls.append(full)
        noops.append(noop)
        print(f"repetition {i + 1}: full {full:.2f} s (exit {code}), no-op rerun {noop:.2f} s"
              f" (exit {code2})", flush=True)
    full_m, noop_m = statistics.median(fulls), statistics.median(noops)
    print(f"median_full_run_s {full_m:.2f}")
    print(f"median_noop_rerun_s {noop_m:.2f}")
    print(f"noop_ratio {noop_m / full_m:.3f} (target <= 0.05)")
    if args.repeat >= 2:
        n, differ = identical(work / "wh0", work / "wh1")
        print(f"determinism: {n} Parquet files compared, "
              + ("all byte-identical, DuckDB contents identical" if not differ
                 else "differ: " + ", ".join(differ)))
    print(f"warehouses in {work}")


if __name__ == "__main__":
    main()
