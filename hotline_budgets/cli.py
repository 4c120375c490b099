"""`hotline-budgets`: a thin command line over the library (errors are one clean line).

Exit status (docs/spec/REGISTRY.md): 0 every report published fresh; 3 the run completed but
some report is rejected, needs OCR or is stale (or a year could not be published); 2 the run
refused to start (bad registry, bad arguments, unwritable warehouse, missing gold); 1 the run
itself failed (a defect: one line here, the traceback in DIR/run_error.log).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from hotline_budgets.paths import default_warehouse
from hotline_budgets.registry import SAMPLE_REGISTRY, RegistryError, load_registry

DEFAULT_WAREHOUSE = default_warehouse()
DEFAULT_CRON = "30 2 * * *"  # 02:30 every night


class UsageError(ValueError):
    """Bad arguments: the run cannot start (exit 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline-budgets",
        description="Open dataset of 12345 hotline centers' budgets and final accounts.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="fetch, extract, validate and publish the registry's reports")
    serve = sub.add_parser("serve", help="serve the nightly Prefect deployment (runs until stopped)")
    for p in (run, serve):
        p.add_argument("--registry", type=Path, default=SAMPLE_REGISTRY,
                       help="source registry YAML (default: the bundled samples)")
        p.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
                       help="output folder (default: ./warehouse of the working directory)")
    run.add_argument("--year", type=int, action="append", dest="years",
                     help="only this fiscal year (repeatable)")
    run.add_argument("--runner", choices=("thread", "dask"), default=None,
                     help="spread reports over worker processes on this machine (thread, the"
                     " default) or a Dask cluster (docs/SCALING.md); env HOTLINE_RUNNER")
    run.add_argument("--workers", type=int, default=None,
                     help="reports extracted at once (default: one per core); env HOTLINE_WORKERS")
    run.add_argument("--dask-address", default=None,
                     help="scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786"
                     " (default: a LocalCluster); env HOTLINE_DASK_ADDRESS")
    serve.add_argument("--cron", default=DEFAULT_CRON, help=f"schedule (default {DEFAULT_CRON!r})")
    serve.add_argument("--timezone", default="Asia/Shanghai", help="time zone of the schedule")
    serve.add_argument("--name", default="nightly", help="deployment name")
    sc = sub.add_parser("score", help="compare published line_items with GOLD_DIR/*/gold.csv")
    sc.add_argument("gold_dir", type=Path)
    sc.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)
    rel = sub.add_parser("release", help="build the open-data release from the published warehouse")
    rel.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)
    rel.add_argument("--release-id", help="release id (default: today's date, UTC)")
    sub.add_parser("expectations", help="regenerate expectations/*.json from the schema")
    sub.add_parser("dictionary", help="print the data dictionary generated from the schema")
    cat = sub.add_parser("catalog", help="the classification catalog grown from evidence")
    cat_sub = cat.add_subparsers(dest="catalog_command", required=True)
    derive = cat_sub.add_parser("derive", help="re-derive transform/catalogs/*.csv from every "
                                               "code + name the registries' reports print")
    derive.add_argument("--registry", type=Path, action="append", dest="registries",
                        help="registry YAML (repeatable; default: every bundled registry)")
    derive.add_argument("--from-evidence", action="store_true",
                        help="re-derive from the committed code_evidence.csv without reading reports")
    return parser


def _notes(notes: dict[str, list]) -> str:
    """Quality issues in words: each kind with its count and its first detail."""
    parts = []
    for kind, (n, page, detail) in sorted(notes.items()):
        where = f" p.{page}" if page else ""
        detail = detail if len(detail) <= 90 else detail[:89] + "…"
        parts.append(f"{kind} ×{n} (e.g.{where}: {detail})")
    return "notes: " + "; ".join(parts) if parts else ""


def format_summary(summary) -> str:
    """One line per report with its outcome and every reason spelled out, then the years
    (from each report's counts: the rows themselves are not loaded)."""
    lines = [f"{'report':<42} {'status':<10} {'items':>5} {'table':>5} {'text':>5}  reason"]
    for o in summary.outcomes:
        counts, r = o.counts, o.report
        parts = []
        if o.change:
            parts.append(o.change)
        if o.reused and r["status"] == "published":
            parts.append("unchanged since last run")
        if r.get("status_reason"):
            parts.append(r["status_reason"])
        if r.get("failed_checks"):
            parts.append(f"checks failed: {r['failed_checks']}")
        if notes := _notes(counts.notes):
            parts.append(notes)
        if counts.consistency_findings:
            parts.append(f"{counts.consistency_findings} consistency findings")
        lines.append(f"{r['report_id']:<42} {r['status']:<10} {counts.line_items:>5}"
                     f" {counts.table_items:>5} {counts.line_items - counts.table_items:>5}"
                     f"  {'; '.join(parts)}")
    statuses = summary.identity_counts
    lines.append(f"identities: {statuses['exact']} exact, {statuses['rounding']}"
                 f" within rounding, {statuses['failed']} failed")
    for y in summary.years:
        lines.append(f"year {y.year}: {y.action}" + (f" ({y.detail})" if y.detail else ""))
        for failed in y.expectation_failures:
            lines.append(f"  expectation failed in {y.year}: {failed}")
    lines += summary.problems
    not_fresh = Counter(o.status for o in summary.outcomes if o.status != "published")
    verdict = ("nothing changed since the last run; " if summary.noop else "") + (
        "all reports published" if not not_fresh
        else "not fresh: " + ", ".join(f"{n} {s}" for s, n in sorted(not_fresh.items())))
    lines.append(f"{verdict}; wrote {len(summary.written)} files in {summary.seconds:.1f} s;"
                 f" exit {summary.exit_code}")
    return "\n".join(lines)


def check_warehouse(path: Path) -> Path:
    """The warehouse folder, created if needed; a file or an unwritable place is a UsageError."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"--warehouse {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--warehouse {path} cannot be created: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"--warehouse {path} is not writable")
    return path.resolve()


def check_years(entries, years: list[int] | None) -> None:
    if not years:
        return
    present = sorted({e.fiscal_year for e in entries})
    missing = [y for y in years if y not in present]
    if missing:
        raise UsageError(f"no registry entry has fiscal_year {', '.join(map(str, missing))}"
                         f" (the registry has {', '.join(map(str, present)) or 'no entries'})")


def _prefect_api_configured() -> bool:
    """A Prefect API (env or profile) other processes can reach, not a run's temporary one."""
    from hotline_budgets.prefect_env import configure_prefect, configured_api_url

    configure_prefect()
    return bool(os.environ.get("PREFECT_API_URL") or configured_api_url())


def _run(args: argparse.Namespace) -> int:
    entries = load_registry(args.registry)  # a bad registry is one clean line, before Prefect
    check_years(entries, args.years)
    warehouse = check_warehouse(args.warehouse)
    from hotline_budgets.flows.parallel import RunnerSettings

    try:
        runner = RunnerSettings.from_env(args.runner, args.workers, args.dask_address)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if runner.runner == "dask" and runner.dask_address and not _prefect_api_configured():
        raise UsageError("--dask-address: the cluster's workers report to the Prefect API, so set"
                         " PREFECT_API_URL to a Prefect server they reach (docs/SCALING.md)")
    started = time.monotonic()
    try:
        from hotline_budgets.flows.nightly import quick_noop_check

        summary = quick_noop_check(args.registry.resolve(), warehouse, args.years)
        if summary is None:
            # there is work: the extraction workers and Prefect's server start side by side
            # while the flow is imported (docs/BENCHMARKS.md "Fixed costs")
            from hotline_budgets.flows.isolation import prestart_extractors
            from hotline_budgets.prefect_env import configure_prefect, start_local_server, using_server

            if runner.runner == "thread":
                prestart_extractors(runner.worker_count)
            configure_prefect()
            server = start_local_server()
            from hotline_budgets.flows.pipeline import run_pipeline_flow

            with using_server(server):
                summary = run_pipeline_flow(registry=args.registry.resolve(), warehouse=warehouse,
                                            years=args.years, progress=True, runner=runner.runner,
                                            workers=runner.workers, dask_address=runner.dask_address)
    except Exception as exc:
        from hotline_budgets.flows.nightly import WarehouseBusy

        if isinstance(exc, WarehouseBusy):
            raise UsageError(str(exc)) from None
        log = warehouse / "run_error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        print(f"hotline-budgets: the run failed (a defect): {type(exc).__name__}: {exc};"
              f" traceback in {log}", file=sys.stderr)
        return 1
    summary.seconds = time.monotonic() - started
    print(format_summary(summary))
    return summary.exit_code


def build_deployment(registry: Path, warehouse: Path, cron: str = DEFAULT_CRON,
                     name: str = "nightly", timezone: str = "Asia/Shanghai"):
    """The flow as a Prefect deployment with a nightly cron schedule (not yet served)."""
    from hotline_budgets.prefect_env import configure_prefect

    configure_prefect()
    from prefect.schedules import Cron

    from hotline_budgets.flows.parallel import RunnerSettings
    from hotline_budgets.flows.pipeline import with_task_runner

    return with_task_runner(RunnerSettings.from_env()).to_deployment(
        name=name, schedule=Cron(cron, timezone=timezone),
        parameters={"registry": str(registry.resolve()), "warehouse": str(warehouse.resolve()),
                    "years": None, "progress": True},
        description="hotline-budgets nightly run (README: Scheduling)")


def _serve(args: argparse.Namespace) -> int:
    load_registry(args.registry)
    warehouse = check_warehouse(args.warehouse)
    deployment = build_deployment(args.registry, warehouse, args.cron, args.name, args.timezone)
    from prefect import serve

    serve(deployment)
    return 0


def _score(args: argparse.Namespace) -> int:
    from hotline_budgets.score import GoldError, format_scores, score_warehouse

    if not (args.warehouse / "hotline_budgets.duckdb").exists():
        raise UsageError(f"no published data in {args.warehouse}: run first")
    try:
        lines, overall = score_warehouse(args.gold_dir, args.warehouse)
    except GoldError as exc:
        raise UsageError(str(exc)) from None
    print(format_scores(lines, overall))
    return 0


def _release(warehouse: Path, release_id: str | None = None) -> str:
    """Build the release from what is published; one line saying where it is."""
    from hotline_budgets.load.release import build_release

    m = build_release(warehouse, release_id=release_id)
    size = sum(f.size_bytes for f in m.files)
    since = f"changes since {m.previous_id} in diff.md" if m.previous_id else "first release"
    return f"release {m.release_id}: {len(m.files) + 1} files, {size / 1e6:.1f} MB in {m.directory} ({since})"


BUNDLED_REGISTRIES = ("registry.yaml", "real/registry.yaml", "real2026/registry.yaml")


def _derive_catalog(args: argparse.Namespace) -> int:
    from hotline_budgets.paths import data_dir
    from hotline_budgets.transform.catalog_derive import (
        collect_evidence,
        read_evidence,
        write_catalog,
    )

    if args.from_evidence and args.registries:
        raise UsageError("catalog derive: --from-evidence reads no registry; give one or the other")
    if args.from_evidence:
        counts = write_catalog(read_evidence())
    else:
        registries = args.registries or [data_dir("samples") / r for r in BUNDLED_REGISTRIES]
        for registry in registries:
            load_registry(registry)  # a bad registry is one clean line before any work
        counts = write_catalog(collect_evidence(registries))
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "score":
            return _score(args)
        if args.command == "release":
            print(_release(args.warehouse.resolve(), args.release_id))
            return 0
        if args.command == "expectations":
            from hotline_budgets.load.validate import write_suites

            for path in write_suites():
                print(path)
            return 0
        if args.command == "catalog":
            return _derive_catalog(args)
        if args.command == "dictionary":
            from hotline_budgets.schema import render_data_dictionary

            print(render_data_dictionary())
            return 0
    except (RegistryError, UsageError, FileNotFoundError, PermissionError) as exc:
        print(f"hotline-budgets: error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
