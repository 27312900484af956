"""Rendering mismatches for finance: the text table and the JSON array."""

from __future__ import annotations

import json

from mappings.canonical import Mismatch
from reconciliation.report import NO_DRIFT, render_json, render_text

AMOUNT_DRIFT = Mismatch("invoice", "amount", "in_1AMT", {"stripe": "in_1AMT", "quickbooks": "145"}, "total",
                        "686.00 USD", "668.00 USD")
EXTRA = Mismatch("invoice", "extra_in_quickbooks", "qbo:77", {"stripe": None, "quickbooks": "77"}, None, None,
                 "9.00 EUR")
MISSING = Mismatch("invoice", "missing_in_quickbooks", "in_2MISS", {"stripe": "in_2MISS", "quickbooks": None},
                   None, "1234 JPY", None)


def test_text_report_lists_ids_values_and_header():
    """Input: an amount drift, an unlinked extra and a missing invoice -> a table naming all their ids."""
    text = render_text([MISSING, EXTRA, AMOUNT_DRIFT])
    assert text.startswith("3 mismatches between Stripe and QuickBooks")
    for expected in ("in_1AMT", "145", "77", "in_2MISS", "686.00 USD", "668.00 USD", "1234 JPY", "9.00 EUR"):
        assert expected in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Kind"))
    for column in ("Stripe id", "QuickBooks id", "Field", "Stripe value", "QuickBooks value"):
        assert column in header
    body = lines[lines.index(header) + 2:]
    # Sorted by kind: amount, extra_in_quickbooks, missing_in_quickbooks.
    assert [line.split()[0] for line in body] == ["amount", "extra_in_quickbooks", "missing_in_quickbooks"]
    # Columns align: every Stripe value starts at the same offset as its header.
    offset = header.index("Stripe value")
    assert body[0][offset:].startswith("686.00 USD")


def test_text_report_keeps_a_vendor_newline_inside_one_row():
    """Input: a status value containing a newline and a tab -> still one line per mismatch."""
    odd = Mismatch("invoice", "status", "in_3", {"stripe": "in_3", "quickbooks": "9"}, "status", "paid", "op\nen\tx")
    text = render_text([odd])
    assert len([line for line in text.splitlines() if line.startswith("status")]) == 1
    assert "op en x" in text


def test_text_report_says_no_drift_when_empty():
    """Input: no mismatches -> the single 'No drift' line."""
    assert render_text([]).strip() == NO_DRIFT
    assert "No drift" in NO_DRIFT


def test_json_report_parses_with_the_agreed_keys_in_order():
    """Input: three mismatches in reverse order -> a JSON array sorted by kind with master/copy values."""
    records = json.loads(render_json([MISSING, EXTRA, AMOUNT_DRIFT]))
    assert [r["kind"] for r in records] == ["amount", "extra_in_quickbooks", "missing_in_quickbooks"]
    for record in records:
        assert set(record) == {"entity", "kind", "ids", "field", "master_value", "copy_value"}
    assert records[0] == {
        "entity": "invoice",
        "kind": "amount",
        "ids": {"stripe": "in_1AMT", "quickbooks": "145"},
        "field": "total",
        "master_value": "686.00 USD",
        "copy_value": "668.00 USD",
    }
    assert records[1]["ids"] == {"stripe": None, "quickbooks": "77"}
    assert json.loads(render_json([])) == []
