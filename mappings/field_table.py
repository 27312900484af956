"""The README's table of every mapped field, generated from the declarative mapping tables."""

from __future__ import annotations

from mappings import (
    internal_rows,
    quickbooks_entities,
    salesforce_entities,
    stripe_accounts,
    stripe_balance,
    stripe_catalog,
    stripe_payments,
    stripe_subscriptions,
    stripe_usage,
)
from mappings.fields import EntityMapping

SYSTEM_ORDER = ("stripe", "quickbooks", "salesforce", "internal")


def all_mappings() -> list[EntityMapping]:
    tables = [
        stripe_accounts.CUSTOMER, stripe_catalog.PRODUCT, stripe_catalog.PRICE, stripe_subscriptions.SUBSCRIPTION,
        stripe_subscriptions.ITEM, stripe_payments.CHARGE, stripe_payments.PAYMENT_INTENT, stripe_payments.REFUND,
        stripe_payments.DISPUTE, stripe_balance.BALANCE_TRANSACTION, stripe_balance.PAYOUT, stripe_usage.METER_EVENT,
        quickbooks_entities.CUSTOMER, quickbooks_entities.ITEM,
        salesforce_entities.ACCOUNT, salesforce_entities.CONTACT, salesforce_entities.PRODUCT2,
        salesforce_entities.PRICEBOOK_ENTRY, salesforce_entities.OPPORTUNITY,
        internal_rows.CUSTOMER_ROW, internal_rows.USAGE_ROW,
    ]
    return sorted(tables, key=lambda t: (SYSTEM_ORDER.index(t.system), t.entity, t.vendor_object))


def _direction(direction: str, writable: bool) -> str:
    if direction == "in":
        return "read"
    if direction == "out":
        return "write"
    return "both" if writable else "read (vendor-assigned)"


def field_table_markdown() -> str:
    """Markdown: one row per mapped field, grouped by system and entity, with each table's version."""
    rows = [
        "| system | entity | vendor object (version) | canonical field | vendor field | transform | direction |",
        "|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    for table in all_mappings():
        for row in table.fields:
            rows.append(
                f"| {table.system} | {table.entity} | {table.vendor_object} (v{table.version}) | `{row.canonical}` "
                f"| `{row.vendor}` | {row.codec.name} | {_direction(row.direction, row.writable)} |"
            )
        notes += [f"- {table.system} {table.vendor_object}: {note}" for note in table.notes]
    return "\n".join(rows + ([""] + notes if notes else [])) + "\n"
