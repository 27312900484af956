"""Stripe sandbox shapes against the vendor's spec: every object type carries the keys of its example in
fixtures3.json (where stripe-python 16 still annotates them) and no key the SDK class does not annotate;
expandable and includable fields appear only on request; injected faults answer as Stripe does."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
import pytest
import stripe

from sandboxes.http import Request
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox

FIXTURES = json.loads(Path("/work/shared/vendor-specs/stripe/fixtures3.json").read_text())["resources"]
SDK_CLASSES = {
    "customer": stripe.Customer, "invoice": stripe.Invoice, "invoiceitem": stripe.InvoiceItem,
    "line_item": stripe.InvoiceLineItem, "product": stripe.Product, "price": stripe.Price,
    "subscription": stripe.Subscription, "subscription_item": stripe.SubscriptionItem,
    "payment_intent": stripe.PaymentIntent, "charge": stripe.Charge, "refund": stripe.Refund,
    "dispute": stripe.Dispute, "balance_transaction": stripe.BalanceTransaction, "payout": stripe.Payout,
    "coupon": stripe.Coupon, "tax_rate": stripe.TaxRate, "event": stripe.Event,
    "billing.meter_event": stripe.billing.MeterEvent, "webhook_endpoint": stripe.WebhookEndpoint,
    "invoice_payment": stripe.InvoicePayment, "payment_method": stripe.PaymentMethod, "balance": stripe.Balance,
}
# Keys a response carries only with expand[] (includable) or only in one response (the endpoint secret).
ON_REQUEST = {"invoice": {"payments"}, "customer": {"subscriptions", "tax_ids", "sources", "cash_balance",
                                                     "invoice_credit_balance", "tax"}}


def annotated(cls: type) -> set[str]:
    """The SDK's field names: class annotations along the MRO, minus private and class constants."""
    names: set[str] = set()
    for klass in cls.__mro__:
        names |= {name for name in getattr(klass, "__annotations__", {}) if not name.startswith("_")}
    return names - {"OBJECT_NAME"}


@pytest.fixture(scope="module")
def sandbox(tls):
    server = StripeSandbox(build_seed(42), tls=tls, rate_limit_per_second=None).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(sandbox, tls):
    with httpx.Client(base_url=sandbox.base_url, verify=ssl.create_default_context(cafile=str(tls.bundle_path)),
                      headers={"Authorization": f"Bearer {sandbox.api_key}"}) as client:
        yield client


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def samples(http) -> dict[str, dict]:
    """One object of every type, made through the API (raw JSON, as the wire carries it)."""
    http.post("/_sandbox/reset")
    out: dict[str, dict] = {}
    out["customer"] = ok(http.post("/v1/customers", data={
        "name": "Shape Ltd", "payment_method": "pm_card_visa",
        "invoice_settings[default_payment_method]": "pm_card_visa"}))
    cus = out["customer"]["id"]
    out["product"] = ok(http.post("/v1/products", data={"name": "Shape plan"}))
    out["price"] = ok(http.post("/v1/prices", data={"product": out["product"]["id"], "currency": "usd",
                                                      "unit_amount": "1500", "recurring[interval]": "month"}))
    out["tax_rate"] = ok(http.post("/v1/tax_rates", data={"display_name": "VAT", "percentage": "20",
                                                            "inclusive": "false"}))
    out["coupon"] = ok(http.post("/v1/coupons", data={"percent_off": "25.5", "duration": "forever"}))
    sub = ok(http.post("/v1/subscriptions", data={"customer": cus, "items[0][price]": out["price"]["id"]}))
    out["subscription"] = sub
    out["subscription_item"] = sub["items"]["data"][0]
    out["invoice"] = ok(http.get(f"/v1/invoices/{sub['latest_invoice']}"))
    out["line_item"] = out["invoice"]["lines"]["data"][0]
    out["invoiceitem"] = ok(http.post("/v1/invoiceitems", data={"customer": cus, "amount": "700",
                                                                  "currency": "usd"}))
    out["invoice_payment"] = ok(http.get("/v1/invoice_payments", params={"invoice": sub["latest_invoice"]}))["data"][0]
    intent = ok(http.post("/v1/payment_intents", data={"amount": "4000", "currency": "usd", "confirm": "true",
                                                         "payment_method": "pm_card_createDispute"}))
    out["payment_intent"] = intent
    out["payment_method"] = ok(http.get(f"/v1/payment_methods/{intent['payment_method']}"))
    out["charge"] = ok(http.get(f"/v1/charges/{intent['latest_charge']}"))
    out["balance_transaction"] = ok(http.get(f"/v1/balance_transactions/{out['charge']['balance_transaction']}"))
    out["dispute"] = ok(http.get("/v1/disputes"))["data"][0]
    paid = ok(http.post("/v1/payment_intents", data={"amount": "9000", "currency": "usd", "confirm": "true",
                                                       "payment_method": "pm_card_visa"}))
    out["refund"] = ok(http.post("/v1/refunds", data={"charge": paid["latest_charge"], "amount": "1000"}))
    http.post("/_sandbox/clock", json={"advance_seconds": 3 * 86_400})
    out["payout"] = ok(http.get("/v1/payouts"))["data"][0]
    out["balance"] = ok(http.get("/v1/balance"))
    out["event"] = ok(http.get("/v1/events", params={"type": "customer.created"}))["data"][0]
    out["webhook_endpoint"] = ok(http.post("/v1/webhook_endpoints", data={
        "url": "https://example.com/hook", "enabled_events[]": "*"}))
    out["billing.meter_event"] = ok(http.post("/v1/billing/meter_events", data={
        "event_name": "api_request", "payload[stripe_customer_id]": cus, "payload[value]": "25"}))
    return out


@pytest.mark.parametrize("object_type", sorted(SDK_CLASSES))
def test_keys_match_fixture_and_sdk_annotations(samples, object_type):
    """Input: one object of each served type; expect its keys ⊇ fixture ∩ SDK and ⊆ SDK annotations."""
    emitted = set(samples[object_type])
    sdk = annotated(SDK_CLASSES[object_type])
    expected = (set(FIXTURES[object_type]) & sdk) - ON_REQUEST.get(object_type, set())
    assert expected - emitted == set(), f"{object_type} lacks fixture keys"
    assert emitted - sdk == set(), f"{object_type} has keys the SDK does not know"
    assert samples[object_type].get("object", "billing.meter_event") == FIXTURES[object_type]["object"]


def test_includable_and_expandable_fields_only_on_request(http, samples):
    """Input: an invoice fetched plain and with expand[]=payments&expand[]=customer; expect `payments` absent and
    customer an id without expand, and a payments list plus a customer object with it."""
    invoice_id = samples["invoice"]["id"]
    plain = ok(http.get(f"/v1/invoices/{invoice_id}"))
    assert "payments" not in plain and isinstance(plain["customer"], str)
    rich = ok(http.get(f"/v1/invoices/{invoice_id}", params={"expand[]": ["payments", "customer"]}))
    assert rich["payments"]["object"] == "list" and rich["payments"]["data"][0]["invoice"] == invoice_id
    assert rich["customer"]["object"] == "customer"


def test_expand_inside_lists_and_nested(http, samples):
    """Input: GET /v1/charges?expand[]=data.customer... and a subscription with latest_invoice.customer; expect
    objects in place of ids; expand[]=name on a customer is rejected as not expandable."""
    charges = ok(http.get("/v1/charges", params={"expand[]": "data.balance_transaction"}))
    assert all(c["balance_transaction"] is None or c["balance_transaction"]["object"] == "balance_transaction"
               for c in charges["data"])
    sub = ok(http.get(f"/v1/subscriptions/{samples['subscription']['id']}",
                      params={"expand[]": "latest_invoice.customer"}))
    assert sub["latest_invoice"]["customer"]["id"] == samples["customer"]["id"]
    bad = http.get(f"/v1/customers/{samples['customer']['id']}", params={"expand[]": "name"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "expand"


def test_webhook_secret_only_in_create_response(http, samples):
    """Input: retrieve the endpoint created in the samples; expect no `secret` there, but whsec_ at creation."""
    assert samples["webhook_endpoint"]["secret"].startswith("whsec_")
    assert "secret" not in ok(http.get(f"/v1/webhook_endpoints/{samples['webhook_endpoint']['id']}"))


@pytest.mark.parametrize(("kind", "status", "error_type", "code"), [
    ("rate_limit", 429, "invalid_request_error", "rate_limit"),
    ("server_error", 500, "api_error", None),
    ("expired_token", 401, "invalid_request_error", "api_key_expired"),
])
def test_fault_response_matches_stripe(sandbox, kind, status, error_type, code):
    """Input: fault_response(kind) for each fault kind; expect Stripe's status, error body and Request-Id, with
    Stripe-Should-Retry: true on 5xx only."""
    request = Request(method="GET", path="/v1/customers", query={}, headers={}, body=b"")
    response = sandbox.fault_response(kind, request)
    error = json.loads(response.body)["error"]
    assert response.status == status and error["type"] == error_type and error.get("code") == code
    assert error["message"] and response.headers["Request-Id"].startswith("req_")
    assert response.headers.get("Stripe-Should-Retry") == ("true" if status == 500 else None)


def test_clock_control_moves_forward(http):
    """Input: GET /_sandbox/clock, POST advance_seconds=3600; expect now to grow by about an hour."""
    before = ok(http.get("/_sandbox/clock"))["now"]
    after = ok(http.post("/_sandbox/clock", json={"advance_seconds": 3600}))["now"]
    assert 3600 <= after - before <= 3610
    assert http.post("/_sandbox/clock", json={"advance_seconds": -5}).status_code == 400
