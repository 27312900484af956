"""StripeConnector against the running Stripe sandbox over HTTPS (real SDK, real TLS, no patching)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import stripe

from connectors.stripe import StripeConnector
from mappings.canonical import Customer, MappingError
from mappings.money import Money
from mappings.stripe import customer_from_stripe, customer_to_stripe, invoice_from_stripe
from sandboxes.seed import build_seed

SEED = build_seed(42)


@pytest.fixture(scope="module")
def connector(stripe_sandbox, tls):
    creds = stripe_sandbox.credentials()
    return StripeConnector(creds["STRIPE_API_KEY"], creds["STRIPE_API_BASE"], str(tls.bundle_path))


@pytest.fixture(autouse=True)
def fresh_state(stripe_control):
    stripe_control.post("/_sandbox/reset").raise_for_status()


def vendor_requests(stripe_control, path: str) -> list[dict]:
    return [entry for entry in stripe_control.get("/_sandbox/requests").json() if entry["path"] == path]


def test_iter_customers_pages_through_everything(connector, stripe_control):
    """Input: iter_customers(page_size=2) over the 12 seeded customers; expect all, once each, via 6 pages."""
    customers = list(connector.iter_customers(page_size=2))
    assert [c["id"] for c in customers] == sorted(
        (a.stripe_customer_id for a in SEED.accounts), key=lambda cid: -next(
            a.created for a in SEED.accounts if a.stripe_customer_id == cid))
    assert all(isinstance(c, dict) and isinstance(c["metadata"], dict) for c in customers)
    pages = vendor_requests(stripe_control, "/v1/customers")
    assert len(pages) == 6 and all(page["query"]["limit"] == "2" for page in pages)
    assert "starting_after" not in pages[0]["query"]
    assert [page["query"]["starting_after"] for page in pages[1:]] == [c["id"] for c in customers[1:-1:2]]


def test_iter_invoices_pages_and_filters_by_status(connector):
    """Input: iter_invoices(page_size=2), then status='paid'; expect every seeded invoice, then only paid ones."""
    invoices = list(connector.iter_invoices(page_size=2))
    assert sorted(i["id"] for i in invoices) == sorted(i.stripe_id for i in SEED.invoices)
    assert all(isinstance(i["lines"]["data"][0], dict) for i in invoices)
    paid = {i["id"] for i in connector.iter_invoices(page_size=2, status="paid")}
    assert paid == {i.stripe_id for i in SEED.invoices if i.status == "paid"}


def test_iter_invoices_fetches_lines_beyond_the_embedded_ones(connector, stripe_control):
    """Input: a planted invoice with 13 lines (Stripe embeds 10); expect all 13 and a valid mapping."""
    lines = [{"id": f"il_many{index:02d}", "amount": 100 * (index + 1), "currency": "usd",
              "description": f"line {index}", "quantity": 1} for index in range(13)]
    customer = SEED.accounts[0].stripe_customer_id
    stripe_control.post("/_sandbox/objects", json={
        "object": "invoice", "id": "in_many_lines", "customer": customer, "currency": "usd", "status": "open",
        "created": 1_800_000_000, "lines": lines,
    }).raise_for_status()
    invoice = next(connector.iter_invoices(page_size=1))
    assert invoice["id"] == "in_many_lines"
    assert [line["id"] for line in invoice["lines"]["data"]] == [line["id"] for line in lines]
    assert invoice["lines"]["has_more"] is False
    mapped = invoice_from_stripe(invoice, known_customers={customer})
    assert mapped.total == Money(sum(100 * (i + 1) for i in range(13)), "USD") and len(mapped.lines) == 13
    assert vendor_requests(stripe_control, "/v1/invoices/in_many_lines/lines")


def test_idempotent_create_makes_one_customer(connector, stripe_control):
    """Input: create_customer twice with the same params and key 'outbox-1'; expect one customer, one replay."""
    params = {"name": "Idem Corp", "metadata": {"salesforce_account_id": "001IDEMPOTENT00001"}}
    first = connector.create_customer(params, idempotency_key="outbox-1")
    second = connector.create_customer(params, idempotency_key="outbox-1")
    assert first == second
    log = vendor_requests(stripe_control, "/v1/customers")
    assert [(e["method"], e["idempotency_key"], e["replayed"]) for e in log] == [
        ("POST", "outbox-1", False), ("POST", "outbox-1", True)]
    assert sum(1 for c in connector.iter_customers() if c["name"] == "Idem Corp") == 1


def test_odd_name_round_trips_through_mapping_and_sandbox(connector):
    """Input: Customer `O'Brien \\ "x"` -> customer_to_stripe -> create -> retrieve -> customer_from_stripe."""
    wanted = Customer(stripe_id="", name="O'Brien \\ \"x\"", email="ob@example.com",
                      salesforce_id="001OBRIEN000000001")
    created = connector.create_customer(customer_to_stripe(wanted), idempotency_key="obrien")
    back = customer_from_stripe(connector.retrieve_customer(created["id"]))
    assert back == Customer(stripe_id=created["id"], name="O'Brien \\ \"x\"", email="ob@example.com",
                            currency=None, salesforce_id="001OBRIEN000000001")
    seeded = next(a for a in SEED.accounts if a.name == "O'Brien \\ \"x\"")
    assert customer_from_stripe(connector.retrieve_customer(seeded.stripe_customer_id)).name == seeded.name


def test_missing_customer_surfaces_as_invalid_request_error(connector):
    """Input: retrieve_customer('cus_missing'); expect stripe.InvalidRequestError code resource_missing, 404."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        connector.retrieve_customer("cus_missing")
    assert (caught.value.code, caught.value.http_status, caught.value.param) == ("resource_missing", 404, "id")
    assert caught.value.request_id.startswith("req_")


def test_invalid_params_surface_with_their_code(connector):
    """Input: create_customer with an unknown parameter; expect InvalidRequestError code parameter_unknown."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        connector.create_customer({"nickname": "x"}, idempotency_key="bad-params")
    assert caught.value.code == "parameter_unknown" and caught.value.param == "nickname"


def test_bad_key_surfaces_as_authentication_error(stripe_sandbox, tls):
    """Input: a connector with key sk_test_wrong; expect stripe.AuthenticationError on the first read."""
    bad = StripeConnector("sk_test_wrong", stripe_sandbox.base_url, str(tls.bundle_path))
    with pytest.raises(stripe.AuthenticationError):
        next(bad.iter_customers())


def test_tls_is_verified_and_global_bundle_untouched(stripe_sandbox, tls):
    """Input: a connector without ca_bundle (SDK default roots) against the local CA; expect a TLS failure,
    and the connector that does trust the CA must not have changed stripe.ca_bundle_path."""
    global_bundle = stripe.ca_bundle_path
    untrusting = StripeConnector(stripe_sandbox.api_key, stripe_sandbox.base_url, max_network_retries=0)
    with pytest.raises(stripe.APIConnectionError, match="SSL"):
        next(untrusting.iter_customers())
    assert stripe.ca_bundle_path == global_bundle


def test_transient_500_is_retried(connector, stripe_control):
    """Input: two injected 500s on GET /v1/customers; the SDK's 2 retries get the third answer (200)."""
    stripe_control.post("/_sandbox/faults", json={"status": 500, "count": 2, "method": "GET", "path": "/v1/customers"})
    assert len(list(connector.iter_customers())) == len(SEED.accounts)
    assert [e["status"] for e in vendor_requests(stripe_control, "/v1/customers")] == [500, 500, 200]


def test_from_env_uses_sandbox_credentials(stripe_sandbox, tls):
    """Input: the sandbox's credentials() plus CONCORD_CA_BUNDLE as an environment mapping."""
    env = {**stripe_sandbox.credentials(), "CONCORD_CA_BUNDLE": str(tls.bundle_path)}
    seeded = SEED.accounts[0]
    assert StripeConnector.from_env(env).retrieve_customer(seeded.stripe_customer_id)["name"] == seeded.name


def test_seeded_jpy_and_kwd_totals_map_right(connector):
    """Input: every seeded invoice read through the connector and mapped; JPY has 0 decimals, KWD 3."""
    known = {c["id"] for c in connector.iter_customers()}
    mapped = {i["id"]: invoice_from_stripe(i, known) for i in connector.iter_invoices()}
    checked = set()
    for seeded in SEED.invoices:
        invoice = mapped[seeded.stripe_id]
        assert invoice.total == Money(seeded.total, seeded.currency.upper())
        if seeded.currency in ("jpy", "kwd"):
            places = {"jpy": 0, "kwd": 3}[seeded.currency]
            assert invoice.total.to_decimal() == Decimal(seeded.total).scaleb(-places)
            checked.add(seeded.currency)
    assert checked == {"jpy", "kwd"}
    kwd = next(i for i in mapped.values() if i.currency == "KWD")
    assert str(kwd.total).endswith(" KWD") and len(str(kwd.total).split()[0].split(".")[1]) == 3


def test_unknown_currency_and_orphan_invoices_are_mapping_errors(connector, stripe_control):
    """Input: planted invoices in 'xts' and for a customer that does not exist; mapping must refuse both."""
    for raw in ({"id": "in_xts", "currency": "xts", "customer": SEED.accounts[0].stripe_customer_id},
                {"id": "in_orphan", "currency": "usd", "customer": "cus_ghost"}):
        stripe_control.post("/_sandbox/objects", json={"object": "invoice", "status": "open", "created": 1_800_000_000,
                                                "lines": [{"amount": 500}], **raw}).raise_for_status()
    known = {c["id"] for c in connector.iter_customers()}
    planted = {i["id"]: i for i in connector.iter_invoices() if i["id"] in ("in_xts", "in_orphan")}
    with pytest.raises(MappingError, match="xts"):
        invoice_from_stripe(planted["in_xts"], known)
    with pytest.raises(MappingError, match="cus_ghost is not a known customer"):
        invoice_from_stripe(planted["in_orphan"], known)
