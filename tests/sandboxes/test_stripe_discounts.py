"""Stripe sandbox coupons applied as discounts on subscriptions and invoices (percent_off and amount_off;
once, repeating, forever), with invoice `discounts`, `total_discount_amounts` and line `discount_amounts`,
driven through the official SDK."""

from __future__ import annotations

import ssl

import httpx
import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox, discounts

DAY = 86_400


@pytest.fixture(scope="module")
def sandbox(tls):
    server = StripeSandbox(build_seed(42), tls=tls, rate_limit_per_second=None).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def control(sandbox, tls):
    with httpx.Client(base_url=sandbox.base_url, verify=ssl.create_default_context(cafile=str(tls.bundle_path)),
                      headers={"Authorization": f"Bearer {sandbox.api_key}"}) as http:
        yield http


@pytest.fixture(scope="module")
def client(sandbox, tls):
    return stripe.StripeClient(sandbox.api_key, base_addresses={"api": sandbox.base_url}, max_network_retries=0,
                               http_client=http_client_trusting(str(tls.bundle_path)))


@pytest.fixture(autouse=True)
def fresh(control):
    control.post("/_sandbox/reset").raise_for_status()


def _two_item_subscription(client, coupon_id: str):
    """$20.00 × 1 and $9.99 × 3 monthly (subtotal 49.97), paid by card, with the coupon."""
    product = client.v1.products.create({"name": "Team plan"})
    base = client.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 2000,
                                    "recurring": {"interval": "month"}})
    seat = client.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 999,
                                    "recurring": {"interval": "month"}})
    customer = client.v1.customers.create({"name": "Discounted", "payment_method": "pm_card_visa",
                                           "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    return client.v1.subscriptions.create({"customer": customer.id, "discounts": [{"coupon": coupon_id}],
                                           "items": [{"price": base.id}, {"price": seat.id, "quantity": 3}]})


def _line_discounts(invoice) -> list[int]:
    return [sum(entry.amount for entry in line.discount_amounts) for line in invoice.lines.data]


def test_percent_off_once_discounts_only_the_first_invoice(client, control):
    """Input: a 15 % `once` coupon on a subscription of 2000 + 3 × 999; expect line discounts 300 and 450
    (449.55 rounded per line), total 4247 charged, a di_ discount on the invoice (expandable, announced by a
    customer.discount.created event); after 32 days the renewal
    invoice is full price and the subscription has no discounts left."""
    coupon = client.v1.coupons.create({"percent_off": 15, "duration": "once"})
    subscription = _two_item_subscription(client, coupon.id)
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert _line_discounts(invoice) == [300, 450]
    assert (invoice.subtotal, invoice.total, invoice.amount_paid, invoice.status) == (4997, 4247, 4247, "paid")
    assert len(invoice.discounts) == 1 and invoice.discounts[0].startswith("di_")
    assert invoice.total_discount_amounts[0].amount == 750
    assert invoice.total_discount_amounts[0].discount == invoice.discounts[0]
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1
    expanded = client.v1.invoices.retrieve(invoice.id, {"expand": ["discounts"]}).discounts[0]
    assert (expanded.object, expanded.source.coupon, expanded.subscription) == ("discount", coupon.id,
                                                                                 subscription.id)
    announced = client.v1.events.list({"type": "customer.discount.created"}).data
    assert [event.data.object.id for event in announced] == [invoice.discounts[0]]
    control.post("/_sandbox/clock", json={"advance_seconds": 32 * DAY}).raise_for_status()
    renewed = client.v1.subscriptions.retrieve(subscription.id)
    assert renewed.discounts == []
    renewal = client.v1.invoices.retrieve(renewed.latest_invoice)
    assert (renewal.billing_reason, renewal.total, renewal.discounts) == ("subscription_cycle", 4997, [])


def test_amount_off_repeating_spreads_over_lines_for_its_months(client, control):
    """Input: a $5.00 coupon repeating for 2 months on 2000 + 2997; expect shares 200 and 300 (proportional,
    largest remainder gets the odd cent), total 4497 for two invoices, then the third at full price."""
    coupon = client.v1.coupons.create({"amount_off": 500, "currency": "usd", "duration": "repeating",
                                       "duration_in_months": 2})
    subscription = _two_item_subscription(client, coupon.id)
    first = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert _line_discounts(first) == [200, 300] and first.total == 4497
    discount = subscription.discounts[0]
    control.post("/_sandbox/clock", json={"advance_seconds": 65 * DAY}).raise_for_status()
    invoices = client.v1.invoices.list({"customer": subscription.customer}).data
    assert [invoice.total for invoice in reversed(invoices)] == [4497, 4497, 4997]
    assert [invoice.discounts for invoice in reversed(invoices)] == [[discount], [discount], []]


def test_forever_percent_coupon_on_a_kwd_invoice_keeps_the_last_digit_zero(client):
    """Input: a 12.5 % `forever` coupon on a draft KWD invoice, then invoice items of 15.250 and 3 × 4.330
    KWD; expect discounts 1910 and 1620 (rounded to steps of 10 fils), total 24710, every amount ending in 0."""
    coupon = client.v1.coupons.create({"percent_off": "12.5", "duration": "forever"})
    customer = client.v1.customers.create({"name": "Al-Khaleej"})
    invoice = client.v1.invoices.create({"customer": customer.id, "currency": "kwd",
                                         "discounts": [{"coupon": coupon.id}]})
    client.v1.invoice_items.create({"customer": customer.id, "invoice": invoice.id, "amount": 15250,
                                    "currency": "kwd"})
    client.v1.invoice_items.create({"customer": customer.id, "invoice": invoice.id, "quantity": 3,
                                    "unit_amount_decimal": "4330", "currency": "kwd"})
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert _line_discounts(invoice) == [1910, 1620]
    assert (invoice.subtotal, invoice.total) == (28240, 24710)
    assert all(amount % 10 == 0 for amount in [*_line_discounts(invoice), invoice.total])


def test_discounted_amount_is_what_gets_taxed(client):
    """Input: an exclusive 10 % tax rate as the subscription's default and a 50 % once coupon on a $20.00
    plan; expect the line discounted by 1000, tax 100 on the remaining 1000, total 1100."""
    rate = client.v1.tax_rates.create({"display_name": "Sales tax", "percentage": 10, "inclusive": False})
    coupon = client.v1.coupons.create({"percent_off": 50, "duration": "once"})
    product = client.v1.products.create({"name": "Solo"})
    price = client.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 2000,
                                     "recurring": {"interval": "month"}})
    customer = client.v1.customers.create({"name": "Taxed", "payment_method": "pm_card_visa",
                                           "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    subscription = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}],
                                                   "default_tax_rates": [rate.id],
                                                   "discounts": [{"coupon": coupon.id}]})
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    line = invoice.lines.data[0]
    assert (line.taxes[0].amount, line.taxes[0].taxable_amount) == (100, 1000)
    assert (invoice.subtotal, invoice.total_excluding_tax, invoice.total) == (2000, 1000, 1100)


def test_coupon_checks(client):
    """Input: a KWD amount_off of 1005, a EUR coupon on a USD invoice, an unknown coupon id; expect 400s with
    amount_invalid, a currency mismatch on discounts[0][coupon], and resource_missing."""
    with pytest.raises(stripe.InvalidRequestError) as kwd:
        client.v1.coupons.create({"amount_off": 1005, "currency": "kwd", "duration": "once"})
    assert kwd.value.code == "amount_invalid"
    euro = client.v1.coupons.create({"amount_off": 500, "currency": "eur", "duration": "once"})
    customer = client.v1.customers.create({"name": "Dollar"})
    with pytest.raises(stripe.InvalidRequestError) as mismatch:
        client.v1.invoices.create({"customer": customer.id, "currency": "usd", "discounts": [{"coupon": euro.id}]})
    assert mismatch.value.param == "discounts[0][coupon]" and "currency" in str(mismatch.value)
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.invoices.create({"customer": customer.id, "discounts": [{"coupon": "NOPE"}]})
    assert unknown.value.code == "resource_missing"


def test_amount_shares_are_exact_and_capped():
    """Input: allocate 1000 over lines 1 and 2 (sum 3), and 10 over three equal lines; expect the whole line
    amounts (capped at 3) and a 4/3/3 split, each total exact."""
    assert discounts._amount_shares([1, 2], 1000, "usd") == [1, 2]
    assert discounts._amount_shares([100, 100, 100], 10, "usd") == [4, 3, 3]
    assert discounts._amount_shares([15250, 12990], 1000, "kwd") == [540, 460]
