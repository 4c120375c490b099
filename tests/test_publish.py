"""The all-years database: per-year tables from every year, catalog tables from this run."""

from __future__ import annotations

import duckdb

from hotline_budgets.load.assemble import CATALOG_TABLES, catalog_tables
from hotline_budgets.load.publish import publish_all_years, publish_year
from hotline_budgets.schema import load_schema
from hotline_budgets.transform.catalog import load_catalog


def _year_tables(function_codes: list[dict]) -> dict:
    schema = load_schema()
    tables = {name: schema[name].to_arrow([]) for name in schema if name not in CATALOG_TABLES}
    tables |= catalog_tables(load_catalog())
    tables["function_codes"] = schema["function_codes"].to_arrow(function_codes)
    return tables


def test_all_years_database_takes_the_catalog_of_the_current_run(tmp_path):
    old = load_schema()["function_codes"].row(code="999", level="类", name="旧目录的类",
                                              first_year=2000, last_year=2000, status="reference")
    # an older year, published with an old catalog
    publish_year(2019, _year_tables([old]), tmp_path, "old-catalog")
    current = catalog_tables(load_catalog())
    path = publish_all_years(tmp_path, set(CATALOG_TABLES), current=current)
    con = duckdb.connect(str(path), read_only=True)
    try:
        codes = {c for (c,) in con.execute("SELECT code FROM function_codes").fetchall()}
    finally:
        con.close()
    assert "999" not in codes
    assert codes == set(load_catalog().function)
