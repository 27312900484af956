"""Unit tests for mappings.stripe with dicts shaped like Stripe's fixtures (fixtures3.json)."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest

from mappings.canonical import Customer, Invoice, MappingError
from mappings.money import Money
from mappings.stripe import customer_from_stripe, customer_to_stripe, invoice_from_stripe

JAN_2_2026 = 1_767_312_000  # 2026-01-02T00:00:00Z
FEB_1_2026 = 1_769_904_000  # 2026-02-01T00:00:00Z


def stripe_customer(**overrides) -> dict:
    base = {
        "address": None, "balance": 0, "created": 1_767_225_600, "currency": "usd", "default_source": None,
        "delinquent": False, "description": None, "discount": None, "email": "billing@acme.example.com",
        "id": "cus_QXg1o8vcGmoR32", "invoice_prefix": "7FE1103", "invoice_settings": {}, "livemode": False,
        "metadata": {"salesforce_account_id": "001AbCdEfGhIjKlMnO"}, "name": "Acme Rockets, Inc.",
        "next_invoice_sequence": 1, "object": "customer", "phone": None, "preferred_locales": [],
        "shipping": None, "tax_exempt": "none", "test_clock": None,
    }
    return {**base, **overrides}


def stripe_line(line_id: str, amount: int, currency: str = "usd", quantity: int | None = 1, **extra) -> dict:
    return {
        "amount": amount, "currency": currency, "description": f"item {line_id}", "discount_amounts": [],
        "discountable": True, "discounts": [], "id": line_id, "invoice": "in_1Pgc6tB7WZ01zgkWu9fdqL6I",
        "livemode": False, "metadata": {}, "object": "line_item", "period": {"end": JAN_2_2026, "start": JAN_2_2026},
        "quantity": quantity, "subtotal": amount, "pricing": {"type": "price_details", "unit_amount_decimal": None},
        **extra,
    }


def stripe_invoice(lines: list[dict] | None = None, **overrides) -> dict:
    lines = lines if lines is not None else [stripe_line("il_1", 1000), stripe_line("il_2", 250, quantity=5)]
    subtotal = sum(line["amount"] for line in lines)
    base = {
        "id": "in_1Pgc6tB7WZ01zgkWu9fdqL6I", "object": "invoice", "account_country": "US",
        "amount_due": subtotal, "amount_paid": 0, "amount_remaining": subtotal, "billing_reason": "manual",
        "collection_method": "send_invoice", "created": JAN_2_2026 - 3600, "currency": "usd",
        "customer": "cus_QXg1o8vcGmoR32", "due_date": FEB_1_2026, "livemode": False, "metadata": {},
        "number": "7FE1103-0001", "status": "open",
        "status_transitions": {"finalized_at": JAN_2_2026 + 60, "marked_uncollectible_at": None, "paid_at": None,
                               "voided_at": None},
        "subtotal": subtotal, "total": subtotal, "total_excluding_tax": subtotal,
        "lines": {"data": lines, "has_more": False, "object": "list",
                  "url": "/v1/invoices/in_1Pgc6tB7WZ01zgkWu9fdqL6I/lines"},
    }
    return {**base, **overrides}


# -- customers -------------------------------------------------------------------------------------


def test_customer_maps_salesforce_id_and_upper_case_currency():
    """Input: a fixture-shaped customer with metadata.salesforce_account_id and currency 'usd'."""
    customer = customer_from_stripe(stripe_customer())
    assert customer == Customer(
        stripe_id="cus_QXg1o8vcGmoR32", name="Acme Rockets, Inc.", email="billing@acme.example.com",
        currency="USD", salesforce_id="001AbCdEfGhIjKlMnO",
    )


def test_customer_without_currency_name_or_metadata():
    """Input: a brand-new customer as Stripe returns it: currency null, name null, metadata {}."""
    customer = customer_from_stripe(stripe_customer(currency=None, name=None, email=None, metadata={}))
    assert (customer.currency, customer.name, customer.email, customer.salesforce_id) == (None, "", None, None)


def test_customer_in_unknown_currency_is_a_mapping_error():
    """Input: a customer whose currency is 'xts' (the ISO testing code Concord does not accept)."""
    with pytest.raises(MappingError, match="cus_QXg1o8vcGmoR32.*xts"):
        customer_from_stripe(stripe_customer(currency="xts"))


def test_deleted_customer_is_a_mapping_error():
    """Input: Stripe's deleted_customer stub {"deleted": true, "id": ..., "object": "customer"}."""
    with pytest.raises(MappingError, match="deleted"):
        customer_from_stripe({"deleted": True, "id": "cus_QXg1o8vcGmoR32", "object": "customer"})


def test_customer_to_stripe_carries_salesforce_id_in_metadata_and_keeps_odd_names():
    """Input: a Customer named `O'Brien \\ "x"` with a Salesforce id; output: create params, no currency."""
    customer = Customer(stripe_id="", name="O'Brien \\ \"x\"", email="ob@example.com", currency="USD",
                        salesforce_id="001000000000000AAA")
    params = customer_to_stripe(customer)
    assert params == {"name": "O'Brien \\ \"x\"", "email": "ob@example.com",
                      "metadata": {"salesforce_account_id": "001000000000000AAA"}}
    # A round trip through what Stripe would return keeps identity.
    returned = stripe_customer(id="cus_new", name=params["name"], email=params["email"], metadata=params["metadata"])
    assert customer_from_stripe(returned).salesforce_id == "001000000000000AAA"


# -- invoices --------------------------------------------------------------------------------------


def test_invoice_maps_total_dates_and_composite_line_ids():
    """Input: an open USD invoice with two lines (1000 and 5 x 50 = 250 cents), finalized 2026-01-02."""
    invoice = invoice_from_stripe(stripe_invoice())
    assert invoice.total == Money(1250, "USD")
    assert invoice.status == "open"
    assert invoice.number == "7FE1103-0001"
    assert invoice.customer_stripe_id == "cus_QXg1o8vcGmoR32"
    assert invoice.issued_on == date(2026, 1, 2)
    assert invoice.due_on == date(2026, 2, 1)
    assert [line.line_id for line in invoice.lines] == ["in_1Pgc6tB7WZ01zgkWu9fdqL6I:il_1",
                                                        "in_1Pgc6tB7WZ01zgkWu9fdqL6I:il_2"]
    assert [(line.quantity, line.amount) for line in invoice.lines] == [(1, Money(1000, "USD")),
                                                                       (5, Money(250, "USD"))]
    assert Invoice.from_dict(invoice.as_dict()) == invoice


def test_issued_on_falls_back_to_created_in_utc():
    """Input: finalized_at null, created 2026-01-01T23:00:00Z (still Jan 1 in UTC, Jan 2 in Tokyo)."""
    invoice = invoice_from_stripe(stripe_invoice(
        created=JAN_2_2026 - 3600, status_transitions={"finalized_at": None}, due_date=None,
    ))
    assert invoice.issued_on == date(2026, 1, 1)
    assert invoice.due_on is None


def test_zero_and_three_decimal_currencies_are_already_minor_units():
    """Input: a JPY invoice of 7400 (yen) and a KWD invoice of 15250 (fils = 15.250 KWD)."""
    jpy = invoice_from_stripe(stripe_invoice(lines=[stripe_line("il_j", 7400, "jpy")], currency="jpy"))
    kwd = invoice_from_stripe(stripe_invoice(lines=[stripe_line("il_k", 15250, "kwd")], currency="kwd"))
    assert jpy.total == Money(7400, "JPY") and jpy.total.to_decimal() == Decimal("7400")
    assert kwd.total == Money(15250, "KWD") and kwd.total.to_decimal() == Decimal("15.250")
    assert str(kwd.total) == "15.250 KWD"


def test_expanded_customer_object_is_accepted():
    """Input: `customer` expanded to a full customer dict (expand[]=customer)."""
    invoice = invoice_from_stripe(stripe_invoice(customer=stripe_customer()), known_customers={"cus_QXg1o8vcGmoR32"})
    assert invoice.customer_stripe_id == "cus_QXg1o8vcGmoR32"


def test_invoice_without_lines_key_skips_the_subtotal_check():
    """Input: an invoice dict with no `lines` at all (e.g. from a webhook payload trimmed by the caller)."""
    raw = stripe_invoice()
    del raw["lines"]
    assert invoice_from_stripe(raw).lines == ()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"currency": "xts"}, "unknown currency code 'xts'"),
        ({"currency": None}, "missing currency"),
        ({"total": None}, "total must be an integer"),
        ({"total": 12.5}, "total must be an integer"),
        ({"total": "1250"}, "total must be an integer"),
        ({"total": True}, "total must be an integer"),
        ({"status": "weird"}, "unknown status"),
        ({"customer": None}, "no customer"),
        ({"subtotal": 1300}, "lines sum to 1250 but the subtotal is 1300"),
        ({"created": None, "status_transitions": {}}, "created must be a Unix timestamp"),
    ],
)
def test_invoice_mapping_errors_name_the_reason(change, reason):
    """Input: a valid invoice with one field broken (see parameters); expect MappingError naming it."""
    with pytest.raises(MappingError, match=reason):
        invoice_from_stripe(stripe_invoice(**change))


def test_invoice_of_unknown_customer_is_a_mapping_error():
    """Input: known_customers={'cus_other'} while the invoice belongs to cus_QXg1o8vcGmoR32."""
    with pytest.raises(MappingError, match="cus_QXg1o8vcGmoR32 is not a known customer"):
        invoice_from_stripe(stripe_invoice(), known_customers={"cus_other"})


def test_partial_lines_are_refused():
    """Input: lines list object with has_more=true (only the first page embedded)."""
    raw = stripe_invoice()
    raw["lines"]["has_more"] = True
    with pytest.raises(MappingError, match="has_more"):
        invoice_from_stripe(raw)


def test_line_in_another_currency_or_with_fractional_amount_is_refused():
    """Input: a USD invoice whose line says EUR; then a line whose amount is a float."""
    with pytest.raises(MappingError, match="differs from the invoice's USD"):
        invoice_from_stripe(stripe_invoice(lines=[stripe_line("il_e", 100, "eur")]))
    raw = stripe_invoice(lines=[stripe_line("il_f", 100)])
    raw["lines"]["data"][0]["amount"] = 100.0
    with pytest.raises(MappingError, match="amount must be an integer"):
        invoice_from_stripe(raw)


def test_line_without_quantity_counts_as_one():
    """Input: a line with quantity null (Stripe sends null for some line types)."""
    invoice = invoice_from_stripe(stripe_invoice(lines=[stripe_line("il_q", 500, quantity=None)]))
    assert invoice.lines[0].quantity == 1


def test_mapping_does_not_mutate_its_input():
    """Input: a fixture-shaped invoice; the dict must be unchanged after mapping."""
    raw = stripe_invoice()
    before = copy.deepcopy(raw)
    invoice_from_stripe(raw)
    assert raw == before
