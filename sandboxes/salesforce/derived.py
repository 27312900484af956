"""What the org computes or enforces beyond field validation: formula-like fields and object rules.

Contact.Name joins the name parts; Opportunity.IsClosed/IsWon follow StageName (and Probability
takes the stage's default unless the write set it); PricebookEntry mirrors its product's name and
code, needs a standard price before any custom price book entry, and allows one entry per price
book, product and currency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sandboxes.salesforce.errors import ApiError
from sandboxes.salesforce.schema import ObjectSchema
from sandboxes.salesforce.sobjects import STAGE_BY_NAME

Row = dict[str, Any]
Lookup = Callable[[str], "Row | None"]


def derive_fields(schema: ObjectSchema, row: Row, written: Mapping[str, Any], lookup: Lookup) -> None:
    """Fill the calculated fields of `row` (a full row about to be stored); `written` is what the client sent."""
    if schema.name == "Contact":
        row["Name"] = " ".join(part for part in (row.get("FirstName"), row.get("LastName")) if part)
    elif schema.name == "Opportunity":
        stage = STAGE_BY_NAME.get(row.get("StageName") or "")
        if stage is not None:
            _, probability, row["IsClosed"], row["IsWon"] = stage
            if "StageName" in written and "Probability" not in written:
                row["Probability"] = probability
    elif schema.name == "PricebookEntry":
        product = lookup(row["Product2Id"]) if row.get("Product2Id") else None
        row["Name"] = product.get("Name") if product else None
        row["ProductCode"] = product.get("ProductCode") if product else None


def check_business_rules(schema: ObjectSchema, row: Row, tables: Mapping[str, Mapping[str, Row]]) -> None:
    if schema.name == "PricebookEntry":
        _check_pricebook_entry(row, tables)


def _check_pricebook_entry(row: Row, tables: Mapping[str, Mapping[str, Row]]) -> None:
    pricebook = tables["Pricebook2"].get(row["Pricebook2Id"])
    entries = [entry for entry in tables["PricebookEntry"].values()
               if not entry["IsDeleted"] and entry["Id"] != row["Id"] and entry["Product2Id"] == row["Product2Id"]
               and entry["CurrencyIsoCode"] == row["CurrencyIsoCode"]]
    if any(entry["Pricebook2Id"] == row["Pricebook2Id"] for entry in entries):
        raise ApiError(400, "DUPLICATE_VALUE", "This price definition already exists in this price book", fields=[])
    if pricebook is not None and not pricebook.get("IsStandard"):
        standard_ids = {pid for pid, book in tables["Pricebook2"].items() if book.get("IsStandard")}
        if not any(entry["Pricebook2Id"] in standard_ids for entry in entries):
            raise ApiError(400, "STANDARD_PRICE_NOT_DEFINED",
                           "Before creating a custom price, create a standard price.", fields=[])
