"""The published schema, declared once in ``schema.yaml`` and rendered into every other form.

Arrow schemas (Parquet), DuckDB DDL, the data dictionary and the expectation suites all come
from here, so they cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa
import yaml

SCHEMA_FILE = Path(__file__).parent / "schema.yaml"
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")
_COLUMN_KEYS = {"name", "type", "description", "required", "values", "values_from", "pattern", "min"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    required: bool = False
    values: tuple[str, ...] | None = None
    pattern: str | None = None
    min: float | None = None

    def arrow_type(self) -> pa.DataType:
        m = _DECIMAL.fullmatch(self.type)
        if m:
            return pa.decimal128(int(m.group(1)), int(m.group(2)))
        return {
            "VARCHAR": pa.string(),
            "INTEGER": pa.int32(),
            "BIGINT": pa.int64(),
            "DOUBLE": pa.float64(),
            "BOOLEAN": pa.bool_(),
            "TIMESTAMP": pa.timestamp("us", tz="UTC"),
        }[self.type]

    def duckdb_type(self) -> str:
        return "TIMESTAMPTZ" if self.type == "TIMESTAMP" else self.type


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.arrow_type(), nullable=not c.required) for c in self.columns]
        )

    def duckdb_ddl(self) -> str:
        cols = ",\n  ".join(
            f"{c.name} {c.duckdb_type()}{' NOT NULL' if c.required else ''}" for c in self.columns
        )
        return f"CREATE TABLE {self.name} (\n  {cols}\n);"

    def row(self, **values) -> dict:
        """One row of this table: unknown names are refused, absent nullable columns are NULL.

        Absent required columns stay absent, so :meth:`to_arrow` names them if they are never set.
        """
        unknown = sorted(set(values) - set(self.column_names))
        if unknown:
            raise SchemaError(f"{self.name}: unknown column(s) {unknown}{_who(values)}")
        filled = {c.name: None for c in self.columns if not c.required} | values
        return {name: filled[name] for name in self.column_names if name in filled}

    def problems(self, rows: list[dict]) -> list[str]:
        """Every row that is not exactly this table's columns with its required values set."""
        wanted = set(self.column_names)
        required = [c.name for c in self.columns if c.required]
        found = []
        for i, r in enumerate(rows):
            unknown, missing = sorted(set(r) - wanted), sorted(wanted - set(r))
            if unknown:
                found.append(f"{self.name} row {i}{_who(r)}: unknown column(s) {unknown}")
            if missing:
                found.append(f"{self.name} row {i}{_who(r)}: missing column(s) {missing}")
            nulls = [c for c in required if c in r and r[c] is None]
            if nulls:
                found.append(f"{self.name} row {i}{_who(r)}: NULL in required column(s) {nulls}")
        return found

    def to_arrow(self, rows: list[dict]) -> pa.Table:
        """Rows (dicts) → Arrow table with exactly the declared columns and types.

        Refuses, naming table, row and column, a row with an unknown or missing column, a NULL
        in a required column, or a value of the wrong type: nothing is silently turned into NULL.
        """
        problems = self.problems(rows)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise SchemaError(problems[0] + more)
        schema = self.arrow_schema()
        try:
            return pa.Table.from_pylist(rows, schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            raise SchemaError(self._locate_type_error(rows) or f"{self.name}: {exc}") from exc

    def _locate_type_error(self, rows: list[dict]) -> str | None:
        """The first row and column whose value Arrow cannot store in the declared type."""
        for i, r in enumerate(rows):
            for c in self.columns:
                try:
                    pa.array([r[c.name]], type=c.arrow_type())
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                    return (f"{self.name} row {i}{_who(r)}: column {c.name} ({c.type}) cannot hold"
                            f" {r[c.name]!r}: {exc}")
        return None


class SchemaError(ValueError):
    """Rows that do not fit the declared table: one line naming table, row and column."""


def _who(row: dict) -> str:
    return f" (report_id={row['report_id']})" if row.get("report_id") else ""


def _values(column: dict) -> tuple[str, ...] | None:
    """A column's controlled vocabulary: listed, or taken from the statement declaration."""
    if "values_from" in column:
        from hotline_budgets.statements import all_measures, statement_names

        return tuple({"statements": statement_names, "measures": all_measures}[column["values_from"]]())
    return tuple(column["values"]) if "values" in column else None


@cache
def load_schema(path: Path = SCHEMA_FILE) -> dict[str, Table]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tables = {}
    for name, spec in data["tables"].items():
        for c in spec["columns"]:
            # An unquoted comma in a YAML flow mapping silently splits a description into a
            # stray key: refuse anything that is not a column attribute.
            stray = set(c) - _COLUMN_KEYS
            if stray:
                raise ValueError(f"{path.name}: {name}.{c.get('name')}: unknown keys {sorted(stray)}"
                                 " (quote descriptions that contain a comma)")
        cols = tuple(
            Column(
                name=c["name"],
                type=c["type"],
                description=c["description"],
                required=c.get("required", False),
                values=_values(c),
                pattern=c.get("pattern"),
                min=c.get("min"),
            )
            for c in spec["columns"]
        )
        tables[name] = Table(name, spec["description"], tuple(spec.get("key", [])), cols)
    return tables


def render_data_dictionary() -> str:
    """Markdown data dictionary of every published table."""
    out = [
        "# Data dictionary",
        "",
        "Generated from `hotline_budgets/schema.yaml` by `hotline-budgets dictionary`; do not edit.",
        "",
    ]
    for table in load_schema().values():
        out += [f"## `{table.name}`", "", table.description, ""]
        if table.key:
            out += [f"Natural key: ({', '.join(table.key)})", ""]
        out += ["| column | type | required | meaning |", "|---|---|---|---|"]
        for c in table.columns:
            allowed = f" One of: {', '.join(c.values)}." if c.values else ""
            req = "yes" if c.required else ""
            out.append(f"| {c.name} | {c.type} | {req} | {c.description}{allowed} |")
        out.append("")
    out += ["# Views", "", "Defined in `load/views.sql`, present in every DuckDB file and copied to CSV in"
            " every release.", ""]
    for view in load_views().values():
        out += [f"## `{view.name}` (view)", "", view.description, "",
                "| column | type | meaning |", "|---|---|---|"]
        for c in view.columns:
            allowed = f" One of: {', '.join(c.values)}." if c.values else ""
            out.append(f"| {c.name} | {c.type} | {c.description}{allowed} |")
        out.append("")
    return "\n".join(out)


# --- Release forms: descriptions inside the files, the CSV dictionary, datapackage.json ---------

_FRICTIONLESS_TYPES = {"VARCHAR": "string", "INTEGER": "integer", "BIGINT": "integer",
                       "DOUBLE": "number", "BOOLEAN": "boolean", "TIMESTAMP": "datetime"}


def _view_columns(path: Path, name: str, spec: dict) -> tuple[Column, ...]:
    for c in spec["columns"]:
        stray = set(c) - _COLUMN_KEYS
        if stray:
            raise ValueError(f"{path.name}: view {name}.{c.get('name')}: unknown keys {sorted(stray)}")
    return tuple(Column(name=c["name"], type=c["type"], description=c["description"],
                        values=tuple(c["values"]) if "values" in c else None) for c in spec["columns"])


@cache
def load_views(path: Path = SCHEMA_FILE) -> dict[str, Table]:
    """The views of load/views.sql as declared in schema.yaml (same shape as tables, no key)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: Table(name, spec["description"], (), _view_columns(path, name, spec))
            for name, spec in data.get("views", {}).items()}


def described_arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema with every field's description (and the table's) in its metadata, so a
    Parquet reader sees what each column means without our docs."""
    fields = [f.with_metadata({"description": c.description})
              for f, c in zip(table.arrow_schema(), table.columns, strict=True)]
    return pa.schema(fields, metadata={"table": table.name, "description": table.description,
                                       "schema": "hotline_budgets/schema.yaml"})


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements(table: Table, kind: str = "TABLE") -> list[str]:
    """DuckDB ``COMMENT ON`` for the table (or view) and each of its columns."""
    out = [f"COMMENT ON {kind} {table.name} IS {_sql_string(table.description)}"]
    out += [f"COMMENT ON COLUMN {table.name}.{c.name} IS {_sql_string(c.description)}"
            for c in table.columns]
    return out


DICTIONARY_CSV_COLUMNS = ("object", "object_kind", "column", "type", "required", "allowed_values",
                          "pattern", "minimum", "description")


def data_dictionary_rows() -> list[dict]:
    """One row per table, view and column: the CSV data dictionary."""
    rows = []
    for kind, objects in (("table", load_schema()), ("view", load_views())):
        for t in objects.values():
            rows.append(dict.fromkeys(DICTIONARY_CSV_COLUMNS, "")
                        | {"object": t.name, "object_kind": kind, "description": t.description})
            for c in t.columns:
                rows.append({"object": t.name, "object_kind": kind, "column": c.name, "type": c.type,
                             "required": "yes" if c.required else "",
                             "allowed_values": "|".join(c.values or ()), "pattern": c.pattern or "",
                             "minimum": "" if c.min is None else str(c.min),
                             "description": c.description})
    return rows


def frictionless_schema(table: Table) -> dict:
    """Table Schema (Frictionless) of the CSV copy of a table or view."""
    fields = []
    for c in table.columns:
        field: dict = {"name": c.name, "description": c.description,
                       "type": "number" if c.type.startswith("DECIMAL") else _FRICTIONLESS_TYPES[c.type]}
        if field["type"] == "datetime":
            field["format"] = "any"
        constraints: dict = {}
        if c.required:
            constraints["required"] = True
        if c.values:
            constraints["enum"] = list(c.values)
        if c.pattern:
            constraints["pattern"] = c.pattern.removeprefix("^").removesuffix("$")
        if c.min is not None:
            constraints["minimum"] = c.min
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    schema: dict = {"fields": fields, "missingValues": [""]}
    by_name = {c.name: c for c in table.columns}
    if table.key and all(by_name[k].required for k in table.key):
        schema["primaryKey"] = list(table.key)
    return schema
