"""Gathering every report's rows into the published Arrow tables, year by year."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from hotline_budgets.schema import load_schema
from hotline_budgets.transform.catalog import Catalog, catalog_table_rows
from hotline_budgets.transform.report import ReportResult

PER_REPORT_TABLES = ("reports", "line_items", "statements", "checks", "consistency_checks",
                     "quality_issues", "codes_seen")
CATALOG_TABLES = ("function_codes", "economic_codes", "code_aliases", "cofog_divisions",
                  "cofog_crosswalk")


def line_items_table(results: list[ReportResult]) -> pa.Table:
    return load_schema()["line_items"].to_arrow([r for res in results for r in res.line_items])


def catalog_tables(catalog: Catalog) -> dict[str, pa.Table]:
    """This run's catalog tables (function_codes … cofog_crosswalk) as published Arrow tables."""
    schema = load_schema()
    rows = catalog_table_rows(catalog)
    return {name: schema[name].to_arrow(rows[name]) for name in CATALOG_TABLES}


def assemble_years(results: list[ReportResult], checks: list[dict],
                   catalog: Catalog) -> dict[int, dict[str, pa.Table]]:
    """{year: {table name: Arrow table}} with exactly the declared schemas."""
    schema = load_schema()
    by_year: dict[int, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    year_of = {}
    for res in results:
        year = res.report["fiscal_year"]
        year_of[res.report["report_id"]] = year
        bucket = by_year[year]
        bucket["reports"].append(res.report)
        bucket["line_items"] += res.line_items
        bucket["statements"] += res.statements
        bucket["quality_issues"] += res.quality_issues
        bucket["codes_seen"] += res.codes_seen
        bucket["consistency_checks"] += res.consistency_checks
    for row in checks:
        year = year_of[row["report_id"]]
        by_year[year]["checks"].append(row | {"fiscal_year": year})
    catalogs = catalog_tables(catalog)
    return {
        year: {name: schema[name].to_arrow(bucket.get(name, [])) for name in PER_REPORT_TABLES}
        | catalogs
        for year, bucket in sorted(by_year.items())
    }
