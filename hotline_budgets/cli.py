"""`hotline-budgets`: a thin command line over the library (errors are one clean line)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hotline_budgets.paths import default_warehouse
from hotline_budgets.registry import SAMPLE_REGISTRY, RegistryError, load_registry

DEFAULT_WAREHOUSE = default_warehouse()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline-budgets",
        description="Open dataset of 12345 hotline centers' budgets and final accounts.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="fetch, extract, validate and publish the registry's reports")
    run.add_argument("--registry", type=Path, default=SAMPLE_REGISTRY,
                     help="source registry YAML (default: the bundled samples)")
    run.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
                     help="output folder (default: ./warehouse of the working directory)")
    run.add_argument("--year", type=int, action="append", dest="years",
                     help="only this fiscal year (repeatable)")
    sc = sub.add_parser("score", help="compare published line_items with GOLD_DIR/*/gold.csv")
    sc.add_argument("gold_dir", type=Path)
    sc.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE)
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


def format_summary(summary, seconds: float) -> str:
    lines = [f"{'report':<42} {'status':<10} {'items':>5} {'table':>5} {'text':>5}  reason"]
    for res in summary.results:
        r = res.report
        n_table = sum(1 for li in res.line_items if li["method"] == "table")
        n_text = len(res.line_items) - n_table
        reason = r.get("status_reason") or ""
        if r.get("is_cached"):
            reason = "unchanged since last run" + ("; " + reason if reason else "")
        if r.get("failed_checks"):
            reason = (reason + "; " if reason else "") + f"checks failed: {r['failed_checks']}"
        issues = len(res.quality_issues)
        if issues:
            reason = (reason + "; " if reason else "") + f"{issues} quality notes"
        findings = sum(1 for c in res.consistency_checks if c["verdict"] != "pass")
        if findings:
            reason = (reason + "; " if reason else "") + f"{findings} consistency findings"
        lines.append(f"{r['report_id']:<42} {r['status']:<10} {len(res.line_items):>5}"
                     f" {n_table:>5} {n_text:>5}  {reason}")
    statuses = [c["status"] for c in summary.checks]
    lines.append(f"identities: {statuses.count('exact')} exact, {statuses.count('rounding')}"
                 f" within rounding, {statuses.count('failed')} failed")
    for where, failed in summary.expectation_failures.items():
        lines.append(f"expectations failed in {where}: " + "; ".join(failed))
    lines.append(f"wrote {len(summary.written)} files in {seconds:.1f} s")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from hotline_budgets.prefect_env import configure_prefect

    load_registry(args.registry)  # a bad registry is one clean line, before Prefect starts

    configure_prefect()
    from hotline_budgets.flows.pipeline import pipeline_flow

    started = time.monotonic()
    args.warehouse.mkdir(parents=True, exist_ok=True)
    summary = pipeline_flow(registry=args.registry.resolve(), warehouse=args.warehouse.resolve(),
                            years=args.years)
    print(format_summary(summary, time.monotonic() - started))
    return 0


BUNDLED_REGISTRIES = ("registry.yaml", "real/registry.yaml", "real2026/registry.yaml")


def _derive_catalog(args: argparse.Namespace) -> int:
    from hotline_budgets.paths import data_dir
    from hotline_budgets.transform.catalog_derive import (
        collect_evidence,
        read_evidence,
        write_catalog,
    )

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
        if args.command == "score":
            from hotline_budgets.score import format_scores, score_warehouse

            if not (args.warehouse / "hotline_budgets.duckdb").exists():
                raise FileNotFoundError(f"no published data in {args.warehouse}: run first")
            lines, overall = score_warehouse(args.gold_dir, args.warehouse)
            print(format_scores(lines, overall))
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
    except (RegistryError, FileNotFoundError, PermissionError) as exc:
        print(f"hotline-budgets: error: {exc}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
