"""The whole path on both hub backends: sandboxes -> Dagster assets -> QuickBooks -> reconciliation."""

from __future__ import annotations

import os

from dagster import build_sensor_context

from concord.jobs import run_job
from connectors.outbox_keys import idempotency_key
from connectors.quickbooks import QuickBooksConnector
from connectors.quickbooks_sync import SYSTEM, plan_invoices, push_invoices
from mappings.quickbooks import invoice_to_quickbooks
from sandboxes.seed import build_seed
from tests.e2e.conftest import control

SEED = build_seed(42)


def _qb() -> QuickBooksConnector:
    return QuickBooksConnector(os.environ["QUICKBOOKS_BASE_URL"], os.environ["QUICKBOOKS_REALM_ID"],
                               os.environ["QUICKBOOKS_ACCESS_TOKEN"], os.environ["CONCORD_CA_BUNDLE"])


def _creates(sandboxes) -> list[dict]:
    """QuickBooks write requests seen by the sandbox (creates and updates are POSTs outside /query)."""
    return [r for r in control(sandboxes, "quickbooks", "/_sandbox/requests")
            if r["method"] == "POST" and not r["path"].endswith("/query")]


def _quickbooks_done(hub) -> int:
    """QuickBooks writes done (the outbox also holds other targets' rows, e.g. Stripe meter events)."""
    return sum(len(hub.latest_done_payloads(SYSTEM, entity)) for entity in ("customer", "invoice", "payment"))


def test_first_sync_fills_quickbooks_and_second_sync_writes_nothing(concord_env, hub, sandboxes, dagster_instance):
    """Input: the seeded company (12 customers incl. O'Brien \\ "x", JPY and KWD invoices); sync twice."""
    first = run_job("concord_sync", dagster_instance)
    assert first.success
    metadata = first.asset_materializations_for_node("sync__quickbooks__invoices")[0].metadata
    assert metadata["http_requests"].value > 0 and metadata["http_non_success"].value == 0
    qb = _qb()
    assert len(list(qb.iter_customers())) == len(SEED.accounts)
    assert len(list(qb.iter_invoices())) == len(SEED.invoices)
    assert hub.open_mismatches() == []
    writes_after_first = len(_creates(sandboxes))
    paid = sum(invoice.status == "paid" for invoice in SEED.invoices)
    written = len(SEED.accounts) + len(SEED.invoices) + paid
    assert _quickbooks_done(hub) == written
    # Batched: one request per 30 writes of a kind (customers, invoices, payments), not one per write.
    batches = sum(-(-count // 30) for count in (len(SEED.accounts), len(SEED.invoices), paid))
    assert writes_after_first == batches
    assert all(request["path"].endswith("/batch") for request in _creates(sandboxes))

    second = run_job("concord_sync", dagster_instance)
    assert second.success
    assert len(_creates(sandboxes)) == writes_after_first, "second sync must not write"
    assert _quickbooks_done(hub) == written
    assert hub.open_mismatches() == []


def test_quickbooks_lookup_of_a_name_with_quote_and_backslash(concord_env, hub, dagster_instance):
    """Input: the Stripe customer named O'Brien \\ "x"; after sync QuickBooks finds it by that exact name."""
    assert run_job("concord_sync", dagster_instance).success
    found = _qb().find_customer_by_display_name('O\'Brien \\ "x"')
    assert found is not None and found["DisplayName"] == 'O\'Brien \\ "x"'
    assert _qb().find_customer_by_display_name("O'Brien") is None


def _materialize_up_to_customer_sync(dagster_instance):
    """Read, map and push customers, but leave every invoice unsynced."""
    from dagster import AssetSelection, materialize

    from assets.definitions import ALL_ASSETS, defs

    selection = AssetSelection.assets(
        ["stripe", "customers"], ["stripe", "invoices"], ["salesforce", "accounts"], ["canonical", "customers"],
        ["canonical", "invoices"], ["sync", "quickbooks", "customers"],
    )
    result = materialize(ALL_ASSETS, selection=selection, resources=defs.resources, instance=dagster_instance)
    assert result.success


def test_crash_between_outbox_row_and_vendor_call_creates_no_duplicate(concord_env, hub, sandboxes, dagster_instance):
    """Input: every invoice's outbox row stored, then the process 'dies' (a) before calling QuickBooks, and
    for one invoice (b) after QuickBooks wrote but before the row was marked done; the next run writes each once."""
    _materialize_up_to_customer_sync(dagster_instance)
    assert plan_invoices(hub) >= len(SEED.invoices)  # (a) rows and keys stored, crash before any call
    qb = _qb()
    assert list(qb.iter_invoices()) == []
    crashed = hub.invoices()[0]
    row = hub.outbox_row(idempotency_key("invoice", "create", crashed.stripe_id))
    assert row is not None and row.status == "pending"
    customer_ref = hub.lookup("customer", crashed.customer_stripe_id, SYSTEM)
    qb.create_invoice(invoice_to_quickbooks(crashed, customer_ref, qb.service_item_ref()),
                      request_id=row.idempotency_key)  # (b) QuickBooks wrote; the crash lost the answer

    counts = push_invoices(hub, qb)
    assert counts.failed == 0 and counts.waiting == 0
    assert counts.adopted == 1  # the crashed write was found, not repeated
    notes = [invoice.get("PrivateNote") for invoice in qb.iter_invoices()]
    assert len(notes) == len(SEED.invoices)
    assert len(set(notes)) == len(notes), "no invoice may be written twice"
    assert hub.outbox_counts().get("pending", 0) == 0


def test_bad_invoices_go_to_dead_letters_and_the_rest_sync(concord_env, hub, sandboxes, dagster_instance):
    """Input: two planted Stripe invoices: one in currency 'xts' (unknown), one whose customer does not exist."""
    template = {"object": "invoice", "status": "open", "total": 1000, "subtotal": 1000, "amount_due": 1000,
                "amount_paid": 0, "amount_remaining": 1000, "created": 1770000000, "number": "BAD-1"}
    control(sandboxes, "stripe", "/_sandbox/objects",
            {**template, "id": "in_badcurrency0000000000001", "currency": "xts",
             "customer": SEED.accounts[0].stripe_customer_id})
    control(sandboxes, "stripe", "/_sandbox/objects",
            {**template, "id": "in_orphan000000000000000001", "currency": "usd", "customer": "cus_doesnotexist01"})
    assert run_job("concord_sync", dagster_instance).success
    letters = {letter.external_id: letter.reason for letter in hub.dead_letters()}
    assert "currency" in letters["in_badcurrency0000000000001"].lower()
    fields = {letter.external_id: letter.field for letter in hub.dead_letters()}
    assert fields == {"in_badcurrency0000000000001": "currency", "in_orphan000000000000000001": "customer"}
    assert "customer" in letters["in_orphan000000000000000001"].lower()
    assert len(list(_qb().iter_invoices())) == len(SEED.invoices)
    assert hub.open_mismatches() == []


def test_planted_drift_is_found_and_alerted_once(concord_env, hub, sandboxes, dagster_instance, smtp_server,
                                                  monkeypatch):
    """Input: after a clean sync, QuickBooks gets one amount changed, one invoice deleted, one extra invoice."""
    from assets.definitions import defs
    from concord.demo import plant_drift

    monkeypatch.setenv("CONCORD_ALERT_SMTP_URL", smtp_server.url)
    assert run_job("concord_sync", dagster_instance).success
    planted = plant_drift(hub, _qb())
    assert run_job("concord_reconcile", dagster_instance).success
    found = sorted((row.mismatch.kind, row.mismatch.ids.get("quickbooks")) for row in hub.open_mismatches())
    assert found == sorted((drift.kind, drift.quickbooks_id) for drift in planted)

    sensor = defs.resolve_sensor_def("drift_alert_sensor")
    resources = {"hub": defs.resources["hub"], "notifier": defs.resources["notifier"]}
    with build_sensor_context(instance=dagster_instance, resources=resources) as context:
        sensor(context)
    assert len(smtp_server.messages) == 3  # one per failed check: amount, missing, extra
    subjects = " ".join(message["Subject"] for message in smtp_server.messages)
    assert "amount_matches" in subjects and "missing_in_quickbooks" in subjects
    with build_sensor_context(instance=dagster_instance, resources=resources) as context:
        sensor(context)
    assert len(smtp_server.messages) == 3, "a drift already alerted must not be alerted again"


def test_customers_are_linked_to_salesforce_with_the_reason(concord_env, hub, dagster_instance):
    """Input: the seeded company, whose Stripe customers carry their Salesforce Account Id in metadata."""
    assert run_job("concord_sync", dagster_instance).success
    links = hub.links("customer", "salesforce")
    assert links == {account.stripe_customer_id: account.salesforce_id for account in SEED.accounts}
    reasons = {hub.link_reason("customer", key, "salesforce") for key in links}
    assert reasons == {"salesforce_id"}


def test_sync_survives_an_expired_quickbooks_token_and_keeps_the_rotated_one(concord_env, hub, sandboxes,
                                                                            dagster_instance, monkeypatch):
    """Input: a sync, then 3700 s on the QuickBooks sandbox clock (the access token expires), then two more
    syncs; the first refreshes once and stores the rotated pair, the second needs no refresh."""
    qb_sandbox = sandboxes.servers["quickbooks"]
    qb_sandbox.expire_initial_token = True
    control(sandboxes, "quickbooks", "/_sandbox/reset", {})  # re-registers the token as one that expires
    fresh = {**sandboxes.environment(), **qb_sandbox.credentials()}  # the reset issued a new refresh token
    for name in ("QUICKBOOKS_CLIENT_ID", "QUICKBOOKS_CLIENT_SECRET", "QUICKBOOKS_REFRESH_TOKEN",
                 "QUICKBOOKS_TOKEN_URL"):
        monkeypatch.setenv(name, fresh[name])
    assert run_job("concord_sync", dagster_instance).success
    control(sandboxes, "quickbooks", "/_sandbox/clock", {"advance_seconds": 3700})
    assert run_job("concord_sync", dagster_instance).success
    stored = hub.token("quickbooks", os.environ["QUICKBOOKS_REALM_ID"])
    assert stored is not None and stored.refresh_token != fresh["QUICKBOOKS_REFRESH_TOKEN"]
    assert run_job("concord_sync", dagster_instance).success
    assert hub.token("quickbooks", os.environ["QUICKBOOKS_REALM_ID"]).version == stored.version  # no refresh


def test_salesforce_accounts_are_read_incrementally_after_the_first_sync(concord_env, hub, sandboxes,
                                                                         dagster_instance):
    """Input: a first sync (full read), then one Account renamed and one deleted over the REST API, then a
    second sync: it reads only changes (queryAll after the cursor) and lands the rename and the deletion."""
    from connectors.http_session import session_trusting

    assert run_job("concord_sync", dagster_instance).success
    # The first sync writes the Account billing fields after reading the Accounts: the second reads those writes
    # back (12 updates), so the rename and deletion below are the only changes the third one sees.
    assert run_job("concord_sync", dagster_instance).success
    first = {key: payload["Name"] for key, payload in hub.raw_payloads("salesforce", "account")}
    assert len(first) == len(SEED.accounts)
    renamed, removed = SEED.accounts[1].salesforce_id, SEED.accounts[2].salesforce_id
    session = session_trusting(concord_env["CONCORD_CA_BUNDLE"])
    base = concord_env["SALESFORCE_INSTANCE_URL"] + "/services/data/v59.0/sobjects/Account/"
    headers = {"Authorization": f"Bearer {concord_env['SALESFORCE_ACCESS_TOKEN']}"}
    session.patch(base + renamed, json={"Name": "Renamed GmbH"}, headers=headers).raise_for_status()
    session.delete(base + removed, headers=headers).raise_for_status()
    second = run_job("concord_sync", dagster_instance)
    assert second.success
    metadata = second.asset_materializations_for_node("salesforce__accounts")[0].metadata
    assert metadata["mode"].value == "incremental"
    assert metadata["updated"].value == 1 and metadata["deleted"].value == 1
    after = {key: payload["Name"] for key, payload in hub.raw_payloads("salesforce", "account")}
    assert after[renamed] == "Renamed GmbH" and removed not in after and len(after) == len(first) - 1


def test_reconciliation_settles_invoice_gaps_and_warns_about_the_others(concord_env, hub, dagster_instance):
    """Input: change-log gaps flagged on Stripe invoices and on Salesforce accounts before a reconcile run ->
    the invoice gap is settled by the reconciliation, the account gap stays open and its check warns."""
    assert run_job("concord_sync", dagster_instance).success
    hub.flag_for_reconciliation("stripe", "invoice", "cursor_gap")
    hub.flag_for_reconciliation("salesforce", "account", "cursor_gap")
    result = run_job("concord_reconcile", dagster_instance)
    assert result.success
    evaluations = {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}
    gaps = evaluations["change_log_gaps_reconciled"]
    assert not gaps.passed and gaps.severity.value == "WARN"
    assert gaps.metadata["settled"].value == 1 and "salesforce account" in gaps.metadata["examples"].value
    assert [(system, entity) for system, entity, _, _ in hub.reconciliation_flags()] == [("salesforce", "account")]
    assert evaluations["amount_matches"].passed  # a gap is a warning, never drift by itself
