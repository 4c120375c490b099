"""Unchanged reports are reused; a new catalog or new bytes make them stale."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from hotline_budgets.load.cache import (
    VERSIONED,
    declarations,
    extractor_version,
    folders_digest,
    load_result,
    save_result,
)
from hotline_budgets.paths import package_dir
from hotline_budgets.registry import RegistryEntry
from hotline_budgets.transform.report import ReportResult

ENTRY = RegistryEntry("r1", "某中心", "450200", 2024, "final_accounts", "unit", "r1.pdf", Path("."))


def _result() -> ReportResult:
    return ReportResult(
        report={"report_id": "r1", "catalog_version": "cat1", "fetched_at": datetime.now(UTC)},
        line_items=[{"report_id": "r1", "amount_wan": Decimal("1165.30")}],
    )


def test_round_trip_keeps_decimals_and_times(tmp_path):
    save_result(tmp_path, ENTRY, "sha1", _result())
    back = load_result(tmp_path, ENTRY, "sha1", "cat1")
    assert back is not None
    assert back.line_items[0]["amount_wan"] == Decimal("1165.30")
    assert str(back.line_items[0]["amount_wan"]) == "1165.30"
    assert isinstance(back.report["fetched_at"], datetime)


def test_new_catalog_new_bytes_or_new_registry_entry_make_it_stale(tmp_path):
    save_result(tmp_path, ENTRY, "sha1", _result())
    assert load_result(tmp_path, ENTRY, "sha1", "cat1") is not None
    assert load_result(tmp_path, ENTRY, "sha1", "cat2") is None
    assert load_result(tmp_path, ENTRY, "sha2", "cat1") is None
    assert load_result(tmp_path, replace(ENTRY, report_id="other"), "sha1", "cat1") is None
    assert load_result(tmp_path, replace(ENTRY, fiscal_year=2025), "sha1", "cat1") is None
    assert load_result(tmp_path, replace(ENTRY, entity_name="另一中心"), "sha1", "cat1") is None


def test_extractor_version_follows_the_files_not_their_location(tmp_path):
    """A copy of the stage folders hashes to the installed version; editing one rule changes it."""
    copies = {}
    for folder in VERSIONED:
        copies[folder] = tmp_path / folder
        shutil.copytree(package_dir(folder), copies[folder],
                        ignore=shutil.ignore_patterns("__pycache__"))
    assert folders_digest(copies, declarations()) == extractor_version()
    labels = copies["transform"] / "labels.yaml"
    labels.write_text(labels.read_text(encoding="utf-8") + "\n# a new comment\n", encoding="utf-8")
    assert folders_digest(copies, declarations()) != extractor_version()
    statements = tmp_path / "statements.yaml"
    statements.write_bytes(declarations()[1].read_bytes() + b"\n# edited\n")
    assert folders_digest({f: package_dir(f) for f in VERSIONED},
                          [declarations()[0], statements]) != extractor_version()
