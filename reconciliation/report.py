"""The finance report: mismatches as a plain-text table (email, console) and as JSON (webhooks, files).

Stripe is the master and QuickBooks the copy, so the columns say "Stripe" and "QuickBooks" rather
than "expected" and "actual": that is how finance talks about them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from mappings.canonical import Mismatch
from reconciliation.invoices import sort_mismatches

NO_DRIFT = "No drift: Stripe and QuickBooks agree."

_COLUMNS = ("Kind", "Stripe id", "QuickBooks id", "Field", "Stripe value", "QuickBooks value")
_EMPTY_CELL = "-"


def mismatch_record(mismatch: Mismatch) -> dict:
    """One mismatch as a JSON-ready dict with the report's key names."""
    return {
        "entity": mismatch.entity,
        "kind": mismatch.kind,
        "ids": dict(mismatch.ids),
        "field": mismatch.field,
        "master_value": mismatch.expected,
        "copy_value": mismatch.actual,
    }


def mismatch_records(mismatches: Iterable[Mismatch]) -> list[dict]:
    return [mismatch_record(mismatch) for mismatch in sort_mismatches(mismatches)]


def render_json(mismatches: Iterable[Mismatch]) -> str:
    """A JSON array, one object per mismatch, in report order (kind, then key)."""
    return json.dumps(mismatch_records(mismatches), indent=2, sort_keys=True)


def render_text(mismatches: Iterable[Mismatch]) -> str:
    """A fixed-width table for people; one clear line when there is nothing to report."""
    ordered = sort_mismatches(mismatches)
    if not ordered:
        return NO_DRIFT + "\n"
    rows = [_COLUMNS] + [_row(mismatch) for mismatch in ordered]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_COLUMNS))]
    lines = [_format_row(rows[0], widths), _format_row(tuple("-" * width for width in widths), widths)]
    lines += [_format_row(row, widths) for row in rows[1:]]
    noun = "mismatch" if len(ordered) == 1 else "mismatches"
    return f"{len(ordered)} {noun} between Stripe and QuickBooks:\n\n" + "\n".join(lines) + "\n"


def _row(mismatch: Mismatch) -> tuple[str, ...]:
    return tuple(
        _cell(value)
        for value in (
            mismatch.kind,
            mismatch.ids.get("stripe"),
            mismatch.ids.get("quickbooks"),
            mismatch.field,
            mismatch.expected,
            mismatch.actual,
        )
    )


def _cell(value: str | None) -> str:
    if value is None or value == "":
        return _EMPTY_CELL
    # Vendor text may hold newlines or tabs; one cell must stay on one line for the table to read.
    return " ".join(str(value).split())


def _format_row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
