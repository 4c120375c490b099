"""The unit every extractor produces: one amount on one canonical statement cell."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Fact:
    """One non-zero amount keyed as SCHEMA.md's natural key, with where it came from."""

    statement: str
    classification: str  # function | economic | item
    code: str | None
    item: str | None
    measure: str
    amount_wan: Decimal
    item_name: str
    page: int
    method: str  # table | narrative | ocr
    source_text: str | None = None  # the amount as printed, or the sentence (narrative)
    source_bbox: str | None = None  # x0,top,x1,bottom in PDF points
    ocr_confidence: float | None = None  # set only when method = ocr
    read_by: str | None = None  # table | narrative: which reader (method alone says ocr for both)

    @property
    def reader(self) -> str:
        return self.read_by or self.method

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """Natural key within one report: (statement, classification, code, item, measure)."""
        return (self.statement, self.classification, self.code or "", self.item or "", self.measure)
