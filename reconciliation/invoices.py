"""Invoice drift: Stripe (the master) against QuickBooks (the copy), as a set-based diff.

Both sides arrive as canonical `Invoice` records keyed by the Stripe id. A QuickBooks invoice that
carries no Stripe link at all is passed by the caller with the key "qbo:<Id>", so it can only ever
be an extra. Pure: no I/O, no clock, same input gives the same list in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mappings.canonical import Invoice, Mismatch

ENTITY = "invoice"

MISSING_IN_QUICKBOOKS = "missing_in_quickbooks"
EXTRA_IN_QUICKBOOKS = "extra_in_quickbooks"
AMOUNT = "amount"
CURRENCY = "currency"
STATUS = "status"

KINDS: tuple[str, ...] = (MISSING_IN_QUICKBOOKS, EXTRA_IN_QUICKBOOKS, AMOUNT, CURRENCY, STATUS)

# Asset-check name -> the mismatch kinds that make it fail. Each kind belongs to exactly one check.
# Lists, as callers and Dagster metadata expect JSON-like values; treat them as read-only.
CHECKS: dict[str, list[str]] = {
    "missing_in_quickbooks": [MISSING_IN_QUICKBOOKS],
    "extra_in_quickbooks": [EXTRA_IN_QUICKBOOKS],
    "amount_matches": [AMOUNT],
    "currency_matches": [CURRENCY],
    "status_matches": [STATUS],
}

# Stripe drafts can still change and are never pushed to QuickBooks, so they are not drift.
UNCOMPARED_MASTER_STATUSES = frozenset({"draft"})

UNLINKED_PREFIX = "qbo:"


class DuplicateInvoiceKey(ValueError):
    """Two invoices on one side share a key; the caller must give each QuickBooks invoice its own key."""


def diff_invoices(
    master: Iterable[Invoice],
    copy: Iterable[Invoice],
    copy_ids: Mapping[str, str] | None = None,
) -> list[Mismatch]:
    """Every disagreement between Stripe (`master`) and QuickBooks (`copy`), sorted by kind then key.

    `copy_ids` maps a Stripe id to the QuickBooks invoice Id, filled into `Mismatch.ids`.
    Raises DuplicateInvoiceKey when a key occurs twice on one side (a second QuickBooks copy of a
    Stripe invoice is real drift, but the caller must pass it as "qbo:<Id>" so it gets reported).
    """
    copy_ids = copy_ids or {}
    masters = _index(master, "Stripe")
    copies = _index(copy, "QuickBooks")
    mismatches: list[Mismatch] = []

    for key, stripe_invoice in masters.items():
        if stripe_invoice.status in UNCOMPARED_MASTER_STATUSES:
            continue
        ids = _ids(key, copy_ids)
        qbo_invoice = copies.get(key)
        if qbo_invoice is None:
            mismatches.append(
                Mismatch(ENTITY, MISSING_IN_QUICKBOOKS, key, ids, field=None, expected=str(stripe_invoice.total))
            )
            continue
        mismatches.extend(_field_mismatches(key, ids, stripe_invoice, qbo_invoice))

    for key, qbo_invoice in copies.items():
        if key not in masters:
            ids = _ids(key, copy_ids)
            mismatches.append(Mismatch(ENTITY, EXTRA_IN_QUICKBOOKS, key, ids, actual=str(qbo_invoice.total)))

    return sort_mismatches(mismatches)


def _field_mismatches(key: str, ids: dict[str, str | None], stripe: Invoice, qbo: Invoice) -> list[Mismatch]:
    found: list[Mismatch] = []
    if stripe.currency != qbo.currency:
        # Amounts in two currencies cannot be compared; re-issuing the copy fixes both at once.
        found.append(Mismatch(ENTITY, CURRENCY, key, ids, "currency", stripe.currency, qbo.currency))
    elif stripe.total.amount_minor != qbo.total.amount_minor:
        found.append(Mismatch(ENTITY, AMOUNT, key, ids, "total", str(stripe.total), str(qbo.total)))
    if stripe.status != qbo.status:
        found.append(Mismatch(ENTITY, STATUS, key, ids, "status", stripe.status, qbo.status))
    return found


def _index(invoices: Iterable[Invoice], side: str) -> dict[str, Invoice]:
    by_key: dict[str, Invoice] = {}
    for invoice in invoices:
        if invoice.stripe_id in by_key:
            raise DuplicateInvoiceKey(f"{side} has two invoices keyed {invoice.stripe_id!r}")
        by_key[invoice.stripe_id] = invoice
    return by_key


def _ids(key: str, copy_ids: Mapping[str, str]) -> dict[str, str | None]:
    if key.startswith(UNLINKED_PREFIX):
        # No Stripe id exists; the QuickBooks Id is the key itself.
        return {"stripe": None, "quickbooks": copy_ids.get(key) or key.removeprefix(UNLINKED_PREFIX)}
    return {"stripe": key, "quickbooks": copy_ids.get(key)}


def sort_mismatches(mismatches: Iterable[Mismatch]) -> list[Mismatch]:
    """Kind, then key, then field: the order reports and alerts show, stable across runs."""
    return sorted(mismatches, key=lambda m: (m.kind, m.key, m.field or ""))


def summarize(mismatches: Iterable[Mismatch]) -> dict[str, int]:
    """Count per kind; every known kind is present (zero when clean), unknown kinds are appended."""
    counts = dict.fromkeys(KINDS, 0)
    for mismatch in mismatches:
        counts[mismatch.kind] = counts.get(mismatch.kind, 0) + 1
    return counts


def for_check(check: str, mismatches: Iterable[Mismatch]) -> list[Mismatch]:
    """The mismatches that make asset check `check` fail (KeyError for an unknown check name)."""
    kinds = CHECKS[check]
    return [mismatch for mismatch in mismatches if mismatch.kind in kinds]
