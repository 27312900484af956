"""`concord demo`: the whole path once, on embedded sandboxes, in under two minutes.

Sync Stripe into QuickBooks through Dagster, plant three kinds of drift in QuickBooks over its own
API, reconcile, print the report, deliver the alert. Exit 0 only when reconciliation finds exactly
the planted drift.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from concord.jobs import failure_summary, instance, run_job
from concord.logging_setup import log_file_path
from concord.runtime import concord_environment, say
from connectors.quickbooks import QuickBooksConnector
from reconciliation.report import render_text
from store.hub import Hub

STEPS = 6


@dataclass(frozen=True)
class PlantedDrift:
    kind: str
    stripe_id: str | None
    quickbooks_id: str
    description: str


def _step(number: int, text: str, started: float) -> None:
    say(f"[{number}/{STEPS}] {text}  (t={time.monotonic() - started:.1f}s)")


def quickbooks_from_environment() -> QuickBooksConnector:
    return QuickBooksConnector(
        os.environ["QUICKBOOKS_BASE_URL"],
        os.environ["QUICKBOOKS_REALM_ID"],
        os.environ["QUICKBOOKS_ACCESS_TOKEN"],
        os.environ.get("CONCORD_CA_BUNDLE") or None,
    )


def plant_drift(hub: Hub, qb: QuickBooksConnector) -> list[PlantedDrift]:
    """Change one open invoice's amount, delete another, and create one Stripe never issued."""
    linked = sorted(hub.links("invoice", "quickbooks").items())
    invoices = {invoice.stripe_id: invoice for invoice in hub.invoices()}
    open_links = [(sid, qid) for sid, qid in linked if invoices[sid].status == "open"]
    # An open invoice keeps its status when its amount changes; a paid one would also drift in status.
    changed_sid, changed_qid = open_links[0]
    deleted_sid, deleted_qid = next((sid, qid) for sid, qid in linked if sid != changed_sid)

    changed = qb.get_invoice(changed_qid)
    line = next(item for item in changed["Line"] if item.get("DetailType") == "SalesItemLineDetail")
    line["Amount"] = line["Amount"] + 100
    detail = line["SalesItemLineDetail"]
    detail["Qty"], detail["UnitPrice"] = 1, line["Amount"]
    qb.update_invoice(
        {"Id": changed["Id"], "SyncToken": changed["SyncToken"], "sparse": True, "Line": changed["Line"],
         "CustomerRef": changed["CustomerRef"]},
        request_id=f"demo-drift-amount-{changed_qid}",
    )
    deleted = qb.get_invoice(deleted_qid)
    qb.delete_invoice(deleted_qid, deleted["SyncToken"], request_id=f"demo-drift-delete-{deleted_qid}")
    extra_payload = {
        "CustomerRef": changed["CustomerRef"],
        "CurrencyRef": changed.get("CurrencyRef"),
        "DocNumber": "MANUAL-1",
        "PrivateNote": "typed in by hand, never issued in Stripe",
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": detail["UnitPrice"],
                  "SalesItemLineDetail": {"ItemRef": detail["ItemRef"], "Qty": 1, "UnitPrice": detail["UnitPrice"]}}],
    }
    extra = qb.create_invoice(extra_payload, request_id="demo-drift-extra-1")
    return [
        PlantedDrift("amount", changed_sid, changed_qid, f"raised the amount of QuickBooks invoice {changed_qid}"),
        PlantedDrift("missing_in_quickbooks", deleted_sid, deleted_qid, f"deleted QuickBooks invoice {deleted_qid}"),
        PlantedDrift("extra_in_quickbooks", None, extra["Id"], f"created QuickBooks invoice {extra['Id']} by hand"),
    ]


def _matches_planted(found, planted: list[PlantedDrift]) -> bool:
    seen = sorted((m.kind, m.ids.get("quickbooks")) for m in found)
    expected = sorted((p.kind, p.quickbooks_id) for p in planted)
    return seen == expected


def run_demo() -> int:
    started = time.monotonic()
    _step(1, "starting the Stripe, Salesforce and QuickBooks sandboxes", started)
    with concord_environment(fresh_hub_name="demo-hub"):
        from dagster import build_sensor_context

        from assets.definitions import defs

        dagster_instance = instance()
        hub = Hub(os.environ["CONCORD_DATABASE_URL"])
        hub.migrate()

        _step(2, "syncing every system through Dagster (job concord_sync)", started)
        result = run_job("concord_sync", dagster_instance)
        if not result.success:
            say("sync failed:\n" + failure_summary(result))
            return 1
        written = ", ".join(f"{system} {count}" for system, count in sorted(hub.done_by_system().items()))
        say(f"      {len(hub.customers())} customers, {len(hub.invoices())} invoices in the hub; "
            f"writes done: {written or 'none'}; outbox: {hub.outbox_counts()}; dead letters: {len(hub.dead_letters())}")

        _step(3, "planting drift in QuickBooks over its API", started)
        planted = plant_drift(hub, quickbooks_from_environment())
        for drift in planted:
            say(f"      planted {drift.kind}: {drift.description}")

        _step(4, "reconciling Stripe against a fresh read of QuickBooks (job concord_reconcile)", started)
        result = run_job("concord_reconcile", dagster_instance)
        if not result.success:
            say("reconciliation failed:\n" + failure_summary(result))
            return 1
        found = [row.mismatch for row in hub.open_mismatches()]

        _step(5, "drift report", started)
        print(render_text(found), flush=True)

        _step(6, "delivering the alert (sensor drift_alert_sensor)", started)
        sensor = defs.resolve_sensor_def("drift_alert_sensor")
        resources = {"hub": defs.resources["hub"], "notifier": defs.resources["notifier"]}
        with build_sensor_context(instance=dagster_instance, resources=resources) as context:
            sensor(context)

        say(f"      alerts also logged to {log_file_path()}")
        ok = _matches_planted(found, planted)
        verdict = "exactly the planted drift was found" if ok else "the drift found differs from the drift planted"
        say(f"demo {'passed' if ok else 'FAILED'}: {verdict} in {time.monotonic() - started:.1f}s")
        return 0 if ok else 1
