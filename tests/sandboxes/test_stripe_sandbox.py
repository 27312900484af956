"""The Stripe sandbox over HTTPS, driven by the real stripe SDK (and raw httpx for headers and bodies)."""

from __future__ import annotations

import ssl

import httpx
import pytest
import stripe

from connectors.stripe import http_client_trusting
from sandboxes.seed import build_seed
from sandboxes.stripe.objects import EMBEDDED_LINES

SEED = build_seed(42)


@pytest.fixture(scope="module")
def http(stripe_sandbox, tls):
    with httpx.Client(base_url=stripe_sandbox.base_url, verify=ssl.create_default_context(cafile=str(tls.bundle_path)),
                      headers={"Authorization": f"Bearer {stripe_sandbox.api_key}"}) as client:
        yield client


@pytest.fixture(scope="module")
def client(stripe_sandbox, tls):
    return stripe.StripeClient(stripe_sandbox.api_key, base_addresses={"api": stripe_sandbox.base_url},
                               max_network_retries=2, http_client=http_client_trusting(str(tls.bundle_path)))


@pytest.fixture(autouse=True)
def fresh_state(http):
    http.post("/_sandbox/reset").raise_for_status()


def requests_log(http) -> list[dict]:
    return http.get("/_sandbox/requests").json()


def make_draft(client, customer_id: str, **extra):
    return client.v1.invoices.create({"customer": customer_id, "collection_method": "send_invoice",
                                      "days_until_due": 30, **extra})


# -- seed and lists --------------------------------------------------------------------------------


def test_credentials_name_the_key_and_base(stripe_sandbox):
    """Input: credentials() of a started sandbox; expect an sk_test_ key and the https base URL."""
    creds = stripe_sandbox.credentials()
    assert creds["STRIPE_API_KEY"].startswith("sk_test_")
    assert creds["STRIPE_API_BASE"] == stripe_sandbox.base_url and stripe_sandbox.base_url.startswith("https://127.0.0.1:")


def test_seeded_customers_page_newest_first(client):
    """Input: list customers with limit=5, then follow starting_after; expect all 12 seeded, created desc."""
    first = client.v1.customers.list({"limit": 5})
    assert (first.object, first.url, first.has_more, len(first.data)) == ("list", "/v1/customers", True, 5)
    everyone = list(first.auto_paging_iter())
    assert len(everyone) == len(SEED.accounts)
    created = [customer.created for customer in everyone]
    assert created == sorted(created, reverse=True)
    by_id = {customer.id: customer for customer in everyone}
    for account in SEED.accounts:
        customer = by_id[account.stripe_customer_id]
        assert customer.name == account.name and customer.email == account.email
        assert customer.currency == account.currency
        assert customer.metadata.to_dict() == {"salesforce_account_id": account.salesforce_id}


def test_ending_before_returns_the_previous_page(client):
    """Input: page 2 (limit 3) then ending_before its first id; expect exactly page 1."""
    page1 = client.v1.customers.list({"limit": 3})
    page2 = client.v1.customers.list({"limit": 3, "starting_after": page1.data[-1].id})
    back = client.v1.customers.list({"limit": 3, "ending_before": page2.data[0].id})
    assert [c.id for c in back.data] == [c.id for c in page1.data]


@pytest.mark.parametrize("limit", [0, 101])
def test_limit_out_of_range_is_rejected(client, limit):
    """Input: limit=0 and limit=101; expect InvalidRequestError on param `limit`."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.list({"limit": limit})
    assert caught.value.param == "limit" and caught.value.http_status == 400


def test_seeded_invoices_are_finalized_with_consistent_amounts(client):
    """Input: every seeded invoice via list; expect open/paid, numbers, amounts that add up, lines summing."""
    invoices = {invoice.id: invoice for invoice in client.v1.invoices.list({"limit": 100}).auto_paging_iter()}
    assert len(invoices) == len(SEED.invoices)
    for seeded in SEED.invoices:
        invoice = invoices[seeded.stripe_id]
        assert invoice.status == seeded.status and invoice.number == seeded.number
        assert invoice.customer == seeded.customer and invoice.currency == seeded.currency
        assert invoice.total == invoice.amount_due == seeded.total
        assert invoice.amount_paid + invoice.amount_remaining == invoice.total
        assert invoice.amount_paid == (seeded.total if seeded.status == "paid" else 0)
        assert invoice.status_transitions.finalized_at is not None
        assert (invoice.status_transitions.paid_at is not None) == (seeded.status == "paid")
        assert invoice.due_date == seeded.due_date and invoice.created == seeded.created
        assert sum(line.amount for line in invoice.lines.data) == invoice.subtotal
        assert all(line.id.startswith("il_") and line.object == "line_item" for line in invoice.lines.data)


def test_seeded_jpy_and_kwd_totals_are_minor_units(client):
    """Input: the seeded invoices in JPY (zero-decimal) and KWD (three-decimal); totals equal the seed's."""
    for currency in ("jpy", "kwd"):
        seeded = [invoice for invoice in SEED.invoices if invoice.currency == currency]
        assert seeded, currency
        for invoice in seeded:
            assert client.v1.invoices.retrieve(invoice.stripe_id).total == invoice.total


def test_invoice_list_filters_by_customer_and_status(client):
    """Input: status=paid, then customer=<first seeded customer>; expect exactly the matching invoices."""
    paid = {i.id for i in client.v1.invoices.list({"status": "paid", "limit": 100}).auto_paging_iter()}
    assert paid == {i.stripe_id for i in SEED.invoices if i.status == "paid"}
    customer_id = SEED.accounts[2].stripe_customer_id
    theirs = {i.id for i in client.v1.invoices.list({"customer": customer_id}).auto_paging_iter()}
    assert theirs == {i.stripe_id for i in SEED.invoices if i.customer == customer_id}


# -- writes ----------------------------------------------------------------------------------------


def test_customer_create_update_with_nested_metadata(client):
    """Input: create with metadata[a], metadata[b]; update a->'' (delete), add c; name with quotes/backslash."""
    created = client.v1.customers.create({"name": "O'Brien \\ \"x\"", "email": "ob@example.com",
                                          "metadata": {"a": "1", "b": "2"}})
    assert created.id.startswith("cus_") and created.currency is None and created.name == "O'Brien \\ \"x\""
    updated = client.v1.customers.update(created.id, {"metadata": {"a": "", "c": "3"}, "name": "Ünïcode ✓"})
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"} and updated.name == "Ünïcode ✓"
    assert client.v1.customers.retrieve(created.id).metadata.to_dict() == {"b": "2", "c": "3"}


def test_validation_errors_have_stripe_codes(client):
    """Input: an unknown parameter, a bad email, a non-integer amount; expect the matching error codes."""
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.create({"nickname": "x"})
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "nickname")
    with pytest.raises(stripe.InvalidRequestError) as bad_email:
        client.v1.customers.create({"email": "not-an-email"})
    assert bad_email.value.code == "email_invalid"
    customer_id = SEED.accounts[0].stripe_customer_id
    with pytest.raises(stripe.InvalidRequestError) as bad_amount:
        client.v1.invoice_items.create({"customer": customer_id, "amount": "12.5"})
    assert (bad_amount.value.code, bad_amount.value.param) == ("parameter_invalid_integer", "amount")


def test_draft_invoice_items_and_finalize(client):
    """Input: new customer, draft in EUR, two invoice items (qty 3 x 1500 and 700), finalize, finalize again."""
    customer = client.v1.customers.create({"name": "Draft GmbH"})
    draft = make_draft(client, customer.id, currency="eur")
    assert (draft.status, draft.total, draft.number, draft.lines.data) == ("draft", 0, None, [])
    client.v1.invoice_items.create({"customer": customer.id, "invoice": draft.id, "unit_amount_decimal": "1500",
                                    "quantity": 3, "description": "Seats"})
    client.v1.invoice_items.create({"customer": customer.id, "invoice": draft.id, "amount": 700,
                                    "description": "Setup"})
    final = client.v1.invoices.finalize_invoice(draft.id)
    assert final.status == "open" and final.total == final.amount_due == final.amount_remaining == 5200
    assert final.number.endswith("-0001") and final.status_transitions.finalized_at is not None
    assert [(line.amount, line.quantity, line.description) for line in final.lines.data] == [
        (4500, 3, "Seats"), (700, 1, "Setup")]
    assert client.v1.customers.retrieve(customer.id).currency == "eur"  # fixed by the first invoice
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.invoices.finalize_invoice(draft.id)
    assert again.value.code == "invoice_not_editable"
    with pytest.raises(stripe.InvalidRequestError) as late_item:
        client.v1.invoice_items.create({"customer": customer.id, "invoice": draft.id, "amount": 1})
    assert late_item.value.code == "invoice_not_editable"


def test_invoice_for_missing_customer_is_resource_missing(client):
    """Input: create an invoice for customer cus_doesnotexist; expect 404 resource_missing on `customer`."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        make_draft(client, "cus_doesnotexist")
    assert (caught.value.http_status, caught.value.code, caught.value.param) == (404, "resource_missing", "customer")


def test_many_lines_are_embedded_partially_and_paged_in_full(client):
    """Input: a draft with 12 invoice items; expect 10 embedded (has_more) and all 12 via /lines pages."""
    customer = client.v1.customers.create({"name": "Many Lines Ltd"})
    draft = make_draft(client, customer.id, currency="usd")
    for index in range(12):
        client.v1.invoice_items.create({"customer": customer.id, "invoice": draft.id, "amount": 100 + index})
    invoice = client.v1.invoices.retrieve(draft.id)
    assert len(invoice.lines.data) == EMBEDDED_LINES and invoice.lines.has_more is True
    every = list(client.v1.invoices.line_items.list(draft.id, {"limit": 5}).auto_paging_iter())
    assert [line.amount for line in every] == [100 + index for index in range(12)]
    assert invoice.total == sum(line.amount for line in every)


# -- auth, errors, headers -------------------------------------------------------------------------


def test_bad_or_missing_key_is_401_with_stripe_body(stripe_sandbox, http):
    """Input: no Authorization header, a wrong Bearer key, and Basic auth; expect 401 bodies and Request-Id."""
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer sk_test_wrong"},
                    {"Authorization": f"Basic {stripe_sandbox.api_key}"}):
        response = http.get("/v1/customers", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert response.headers["Request-Id"].startswith("req_")
        assert stripe_sandbox.api_key not in response.text


def test_bad_key_surfaces_as_authentication_error(stripe_sandbox, tls):
    """Input: the SDK with key sk_test_wrong; expect stripe.AuthenticationError (HTTP 401)."""
    bad = stripe.StripeClient("sk_test_wrong", base_addresses={"api": stripe_sandbox.base_url},
                              http_client=http_client_trusting(str(tls.bundle_path)))
    with pytest.raises(stripe.AuthenticationError) as caught:
        bad.v1.customers.list()
    assert caught.value.http_status == 401


def test_missing_object_body_shape(http):
    """Input: GET /v1/customers/cus_missing raw; expect 404 with type, code, param, message and Request-Id."""
    response = http.get("/v1/customers/cus_missing")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "resource_missing"
    assert error["param"] == "id" and error["message"] == "No such customer: 'cus_missing'"
    assert response.headers["Request-Id"].startswith("req_")


def test_unknown_path_is_unrecognized_request_url(http):
    """Input: GET /v1/widgets; expect Stripe's 404 'Unrecognized request URL' body."""
    response = http.get("/v1/widgets")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/widgets)")


# -- idempotency -----------------------------------------------------------------------------------


def test_idempotent_replay_same_params(http):
    """Input: POST /v1/customers twice with Idempotency-Key k1 and the same body; expect one customer, replay header."""
    body = {"name": "Replay Co", "metadata[salesforce_account_id]": "001REPLAY"}
    first = http.post("/v1/customers", data=body, headers={"Idempotency-Key": "k1"})
    second = http.post("/v1/customers", data=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert "Idempotent-Replayed" not in first.headers and second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Original-Request"] == first.headers["Request-Id"]
    log = [entry for entry in requests_log(http) if entry["path"] == "/v1/customers"]
    assert [(e["idempotency_key"], e["replayed"], e["status"]) for e in log] == [("k1", False, 200), ("k1", True, 200)]
    named = http.get("/v1/customers", params={"limit": 100}).json()["data"]
    assert sum(1 for customer in named if customer["name"] == "Replay Co") == 1


def test_same_key_other_params_is_idempotency_error(client):
    """Input: the SDK creates with key k2 then reuses k2 with another name; expect stripe.IdempotencyError."""
    client.v1.customers.create({"name": "First"}, {"idempotency_key": "k2"})
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.customers.create({"name": "Second"}, {"idempotency_key": "k2"})
    assert caught.value.http_status == 400 and "k2" in caught.value.user_message


def test_validation_failure_does_not_burn_the_key(client):
    """Input: key k3 with a bad email (400), then k3 with valid params; the second call must create."""
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create({"email": "nope"}, {"idempotency_key": "k3"})
    created = client.v1.customers.create({"email": "yes@example.com"}, {"idempotency_key": "k3"})
    assert created.email == "yes@example.com"


def test_expired_keys_execute_again(http):
    """Input: key k4 used, keys expired via the control API, k4 used again; expect two distinct customers."""
    first = http.post("/v1/customers", data={"name": "Twice"}, headers={"Idempotency-Key": "k4"}).json()
    assert http.post("/_sandbox/idempotency/expire").json() == {"expired": 1}
    second = http.post("/v1/customers", data={"name": "Twice"}, headers={"Idempotency-Key": "k4"}).json()
    assert first["id"] != second["id"]


# -- control API -----------------------------------------------------------------------------------


def test_planted_invoices_bypass_validation(client, http):
    """Input: plant an invoice in 'xts' for a customer that does not exist; expect it listed as given."""
    planted = http.post("/_sandbox/objects", json={
        "object": "invoice", "id": "in_planted_xts", "currency": "xts", "customer": "cus_ghost", "status": "open",
        "created": 1_800_000_000, "lines": [{"amount": 999, "currency": "xts", "description": "odd"}],
    })
    assert planted.status_code == 200 and planted.json()["total"] == 999
    newest = client.v1.invoices.list({"limit": 1}).data[0]
    assert (newest.id, newest.currency, newest.customer, newest.total) == ("in_planted_xts", "xts", "cus_ghost", 999)


def test_injected_500_is_retried_by_the_sdk(client, http):
    """Input: one injected 500 on POST /v1/customers; the SDK retries with the same Idempotency-Key and succeeds."""
    http.post("/_sandbox/faults", json={"status": 500, "count": 1, "method": "POST", "path": "/v1/customers"})
    created = client.v1.customers.create({"name": "Retry Ltd"})
    assert created.name == "Retry Ltd"
    log = [entry for entry in requests_log(http) if entry["path"] == "/v1/customers"]
    assert [entry["status"] for entry in log] == [500, 200]
    assert log[0]["idempotency_key"] == log[1]["idempotency_key"] is not None


def test_reset_restores_the_seed_and_clears_the_log(client, http):
    """Input: create a customer, then POST /_sandbox/reset; expect 12 customers and an empty request log."""
    client.v1.customers.create({"name": "Temporary"})
    http.post("/_sandbox/reset")
    assert requests_log(http) == []
    assert len(list(client.v1.customers.list({"limit": 100}).auto_paging_iter())) == len(SEED.accounts)


def test_concurrent_posts_with_one_key_create_one_customer(http):
    """Input: 8 threads POST /v1/customers at once with Idempotency-Key k-par; expect one id, 7 replays."""
    from concurrent.futures import ThreadPoolExecutor

    def post(_: int) -> dict:
        response = http.post("/v1/customers", data={"name": "Parallel"}, headers={"Idempotency-Key": "k-par"})
        return response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = {body["id"] for body in pool.map(post, range(8))}
    assert len(ids) == 1
    log = [entry for entry in requests_log(http) if entry["path"] == "/v1/customers"]
    assert sorted(entry["replayed"] for entry in log) == [False] + [True] * 7
