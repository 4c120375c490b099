"""End to end: a full run, its stages, and the no-op rerun, on any registries.

    uv run python -m bench.run [--registry R ...] [--workers 1,2] [--runner thread|dask]

Default registries: the bundled real reports (samples/real + samples/real2026). The registries
are joined into one (absolute paths) so one run covers them all. For each worker count it
measures, each on a fresh warehouse:

- ``cli``    ``hotline-budgets run`` as an operator runs it (a subprocess: imports, Prefect's
             local server, flow, validation, publishing): wall time, pages/s, reports/min and
             the peak RSS of the whole process tree (sampled every 0.1 s: the flow process, its
             extraction workers, the validation process and Prefect's server), of its largest
             single process and of each role, and the tree's peak summed PSS (shared libraries
             counted once: the run's real share of the machine's memory);
- ``noop``   the same command again on the unchanged warehouse;
- ``plain``  the same run in-process without Prefect (flows/nightly.run_pipeline with plain
             functions), timed per stage: per-report (fetch+extract+identities+conform, summed
             over reports and as wall), publish, of which Great Expectations (the validation
             process's answer time, its import included where the run waits for it), and the
             release, of which GX Data Docs. ``cli`` − ``plain`` is Prefect's cost; with GX and
             Data Docs it is the orchestration share the issue's target is about.

Prints one table; the machine's core count and load are in the first line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from hotline_budgets.paths import data_dir
from hotline_budgets.registry import load_registry

DEFAULT_REGISTRIES = ("real/registry.yaml", "real2026/registry.yaml")


def joined_registry(registries: list[Path], out: Path) -> Path:
    """One registry of every entry, urls made absolute (local files) so it can live anywhere."""
    reports = []
    for reg in registries:
        raw = yaml.safe_load(reg.read_text(encoding="utf-8"))
        for r in raw["reports"]:
            url = str(r["url"])
            if "://" not in url and not Path(url).is_absolute():
                r = r | {"url": str((reg.parent / url).resolve())}
            reports.append(r)
    out.write_text(yaml.safe_dump({"reports": reports}, allow_unicode=True, sort_keys=False),
                   encoding="utf-8")
    return out


def page_count(registry: Path) -> int:
    import pypdfium2 as pdfium

    total = 0
    for e in load_registry(registry):
        doc = pdfium.PdfDocument(e.base_dir / e.url)
        total += len(doc)
        doc.close()
    return total


def _role(proc, root_pid: int) -> str:
    """Which part of a run a process is: the flow itself, an extraction worker, the validation
    process, Prefect's temporary server, or other."""
    import psutil

    if proc.pid == root_pid:
        return "flow"
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return "other"
    return ("worker" if "hotline_budgets.flows.isolation" in cmd
            else "validator" if "hotline_budgets.load.validator" in cmd
            else "prefect-server" if "uvicorn" in cmd else "other")


def _pss(pid: int) -> int:
    """Proportional set size in bytes (/proc/PID/smaps_rollup): shared pages (the libraries
    every process of a run maps) counted once over all processes that map them; 0 elsewhere."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_rss(pid: int) -> tuple[int, int, dict[str, int]]:
    """Summed RSS and summed PSS in bytes over the process and its descendants, and the largest
    RSS per role. The summed RSS counts a shared library once per process that maps it; the
    summed PSS is what the run takes of the machine's memory."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0, {}
    total, pss, largest = 0, 0, {}
    for p in procs:
        try:
            rss = p.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        pss += _pss(p.pid)
        role = _role(p, pid)
        largest[role] = max(largest.get(role, 0), rss)
    return total, pss, largest


def run_cli(registry: Path, warehouse: Path, extra: list[str], rss_log: Path | None = None) -> dict:
    """One ``hotline-budgets run`` subprocess: wall, exit code, peak RSS (MB) of the process
    tree, of its largest process and of each role (flow / extraction worker / validator /
    prefect-server). ``rss_log``: every sample (seconds, MB per role) with the run's last
    progress line, to see which step a peak belongs to."""
    cmd = [sys.executable, "-m", "hotline_budgets.cli", "run", "--registry", str(registry),
           "--warehouse", str(warehouse), *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_total, peak_pss = [0], [0]
    peak_role: dict[str, int] = {}
    stop = threading.Event()
    lines: list[str] = []
    log = rss_log.open("w", encoding="utf-8") if rss_log else None

    def sample() -> None:
        while not stop.is_set():
            total, pss, largest = _tree_rss(proc.pid)
            peak_total[0] = max(peak_total[0], total)
            peak_pss[0] = max(peak_pss[0], pss)
            for role, rss in largest.items():
                peak_role[role] = max(peak_role.get(role, 0), rss)
            if log:
                roles = " ".join(f"{r} {b / 2**20:.0f}" for r, b in sorted(largest.items()))
                log.write(f"{time.perf_counter() - t0:7.1f}  {roles}  pss {pss / 2**20:.0f}"
                          f"  | {lines[-1] if lines else ''}\n")
            stop.wait(0.1)

    def read_stderr() -> None:
        for line in proc.stderr:
            lines.append(line.rstrip()[:100])
    sampler = threading.Thread(target=sample, daemon=True)
    reader = threading.Thread(target=read_stderr, daemon=True)
    sampler.start()
    reader.start()
    proc.wait()
    reader.join()
    stop.set()
    sampler.join()
    if log:
        log.close()
    err = "\n".join(lines)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        print(err[-2000:], file=sys.stderr)
    roles = {role: rss / 2**20 for role, rss in peak_role.items()}
    return {"wall": wall, "rc": proc.returncode, "tree_mb": peak_total[0] / 2**20,
            "tree_pss_mb": peak_pss[0] / 2**20,
            "largest_mb": max(roles.values(), default=0.0), "roles_mb": roles}


def _roles(run: dict) -> str:
    return ("peak RSS MB " + " ".join(f"{r} {mb:.0f}" for r, mb in sorted(run["roles_mb"].items()))
            + f"; tree PSS {run['tree_pss_mb']:.0f} MB")


def run_plain(registry: Path, warehouse: Path, workers: int) -> dict:
    """The run without Prefect, timed per stage (wrappers around the plain steps)."""
    from concurrent.futures import ThreadPoolExecutor

    from hotline_budgets.flows import nightly
    from hotline_budgets.flows.parallel import as_finished
    from hotline_budgets.load.validator import Validator

    times = {"report_sum": 0.0, "publish": 0.0, "gx": 0.0, "docs": 0.0, "release": 0.0}
    lock = threading.Lock()
    originals = {"gx": Validator.validate_tables, "docs": Validator.build_data_docs}

    def timed(key: str):
        def call(*a, **k):  # waits for GX's import in the validation process too
            t = time.perf_counter()
            try:
                return originals[key](*a, **k)
            finally:
                times[key] += time.perf_counter() - t
        return call

    def report(entry, ctx):
        t = time.perf_counter()
        out = nightly.process_entry(entry, ctx)
        with lock:
            times["report_sum"] += time.perf_counter() - t
        return out

    def publish(year, outcomes, ctx, validated=None):
        t = time.perf_counter()
        try:
            return nightly.publish_one_year(year, outcomes, ctx, validated)
        finally:
            times["publish"] += time.perf_counter() - t

    def validate_years(by_year, ctx):  # the run's one validation counts as publishing
        t = time.perf_counter()
        try:
            return nightly.validate_changed_years(by_year, ctx)
        finally:
            times["publish"] += time.perf_counter() - t

    original_release = nightly.after_publish

    def release(*a, **k):
        t = time.perf_counter()
        try:
            return original_release(*a, **k)
        finally:
            times["release"] += time.perf_counter() - t

    pool = ThreadPoolExecutor(workers) if workers > 1 else None

    def mapper(entries, ctx):
        t = time.perf_counter()
        yield from as_finished(lambda e: pool.submit(report, e, ctx), entries, 2 * workers)
        times["report_wall"] = time.perf_counter() - t

    Validator.validate_tables, Validator.build_data_docs = timed("gx"), timed("docs")
    nightly.after_publish = release
    t0 = time.perf_counter()
    try:
        nightly.run_pipeline(registry, warehouse, report=report, publish=publish,
                             map_reports=mapper if pool else None, validate=validate_years)
    finally:
        Validator.validate_tables, Validator.build_data_docs = originals["gx"], originals["docs"]
        nightly.after_publish = original_release
        if pool:
            pool.shutdown()
    times["wall"] = time.perf_counter() - t0
    times.setdefault("report_wall", times["report_sum"])
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--registry", type=Path, action="append")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--runner", default="thread", choices=("thread", "dask"))
    ap.add_argument("--skip-plain", action="store_true", help="only the cli and no-op runs")
    ap.add_argument("--keep", type=Path, help="keep the warehouses under this folder")
    ap.add_argument("--rss-log", type=Path, help="write every RSS sample of the full run here")
    args = ap.parse_args()
    registries = args.registry or [data_dir("samples") / r for r in DEFAULT_REGISTRIES]
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-run-", dir=args.keep))
    registry = joined_registry([r.resolve() for r in registries], work / "registry.yaml")
    reports, pages = len(load_registry(registry)), page_count(registry)
    print(f"cores {os.cpu_count()}  load {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
          f"  reports {reports}  pages {pages}  runner {args.runner}")
    print(f"{'run':14} {'wall s':>8} {'pages/s':>8} {'rep/min':>8} {'tree MB':>8} {'max MB':>7}  detail")
    for workers in (int(w) for w in args.workers.split(",")):
        wh = work / f"wh-{workers}"
        extra = ["--workers", str(workers), "--runner", args.runner]
        full = run_cli(registry, wh, extra, args.rss_log)
        summary = json.loads((wh / "run_summary.json").read_text(encoding="utf-8"))
        statuses: dict[str, int] = {}
        for r in summary["reports"]:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        print(f"{f'cli w={workers}':14} {full['wall']:8.1f} {pages / full['wall']:8.1f}"
              f" {60 * reports / full['wall']:8.1f} {full['tree_mb']:8.0f} {full['largest_mb']:7.0f}"
              f"  flow {summary['seconds']:.1f} s, rc {full['rc']}, {statuses}; {_roles(full)}")
        noop = run_cli(registry, wh, extra)
        print(f"{f'noop w={workers}':14} {noop['wall']:8.1f} {'':8} {'':8} {noop['tree_mb']:8.0f}"
              f" {noop['largest_mb']:7.0f}  rc {noop['rc']}; {_roles(noop)}")
        if not args.skip_plain:
            plain = run_plain(registry, work / f"plain-{workers}", workers)
            overhead = full["wall"] - plain["wall"]
            orchestration = overhead + plain["gx"] + plain["docs"]
            print(f"{f'plain w={workers}':14} {plain['wall']:8.1f} {pages / plain['wall']:8.1f}"
                  f" {60 * reports / plain['wall']:8.1f} {'':8} {'':7}"
                  f"  reports {plain['report_wall']:.1f} s wall ({plain['report_sum']:.1f} s summed,"
                  f" {pages / plain['report_wall']:.1f} pages/s), publish {plain['publish']:.1f} s"
                  f" (GX {plain['gx']:.1f} s), release {plain['release']:.1f} s"
                  f" (Data Docs {plain['docs']:.1f} s); cli − plain = {overhead:.1f} s"
                  f" ({100 * overhead / full['wall']:.0f} % of cli); orchestration (cli − plain"
                  f" + GX + Data Docs) {orchestration:.1f} s = {100 * orchestration / full['wall']:.0f} %")
        if args.keep is None:
            shutil.rmtree(wh, ignore_errors=True)
            shutil.rmtree(work / f"plain-{workers}", ignore_errors=True)


if __name__ == "__main__":
    main()
