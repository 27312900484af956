"""How much Concord's safe write path costs against bare SDK calls.

Concord pushes customers, invoices and payments to QuickBooks through the outbox: each write is a
stored row with its idempotency key, a lookup before create, and a link in the hub. The baseline
makes the same creates straight through the connector (no outbox, no lookup, no hub). Both run in
this process against fresh QuickBooks sandboxes on loopback, so the ratio is the overhead of the
guarantees, not of the network.

    .venv/bin/python benchmarks/bench_quickbooks_push.py [--scale 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from connectors.quickbooks import QuickBooksConnector
from connectors.quickbooks_sync import push_customers, push_invoices
from connectors.stripe import StripeConnector
from mappings.quickbooks import customer_to_quickbooks, invoice_to_quickbooks, payment_to_quickbooks
from mappings.stripe import customer_from_stripe, invoice_from_stripe
from sandboxes.runner import start_sandboxes
from store.hub import Hub


def _quickbooks(env: dict[str, str]) -> QuickBooksConnector:
    return QuickBooksConnector(env["QUICKBOOKS_BASE_URL"], env["QUICKBOOKS_REALM_ID"],
                               env["QUICKBOOKS_ACCESS_TOKEN"], env["CONCORD_CA_BUNDLE"])


def _canonical(env: dict[str, str]):
    stripe = StripeConnector(env["STRIPE_API_KEY"], env["STRIPE_API_BASE"], env["CONCORD_CA_BUNDLE"])
    customers = [customer_from_stripe(obj) for obj in stripe.iter_customers()]
    known = {customer.stripe_id for customer in customers}
    invoices = [invoice_from_stripe(obj, known) for obj in stripe.iter_invoices()]
    return customers, invoices


def run_concord(scale: int, workdir: Path) -> tuple[float, int]:
    with start_sandboxes(["stripe", "quickbooks"], scale=scale, state_dir=workdir / "a",
                         vendor_limits=False) as sandboxes:
        env = sandboxes.environment()
        customers, invoices = _canonical(env)
        hub = Hub(f"sqlite:///{workdir / 'hub.db'}")
        hub.migrate()
        hub.upsert_customers(customers)
        hub.upsert_invoices(invoices)
        qb = _quickbooks(env)
        started = time.perf_counter()
        written = push_customers(hub, qb).written + push_invoices(hub, qb).written
        return time.perf_counter() - started, written


def run_baseline(scale: int, workdir: Path) -> tuple[float, int]:
    with start_sandboxes(["stripe", "quickbooks"], scale=scale, state_dir=workdir / "b",
                         vendor_limits=False) as sandboxes:
        env = sandboxes.environment()
        customers, invoices = _canonical(env)
        qb = _quickbooks(env)
        started = time.perf_counter()
        refs, written = {}, 0
        for customer in customers:
            refs[customer.stripe_id] = qb.create_customer(customer_to_quickbooks(customer), f"b-c-{written}")["Id"]
            written += 1
        item = qb.service_item_ref()
        for invoice in invoices:
            customer_ref = refs[invoice.customer_stripe_id]
            created = qb.create_invoice(invoice_to_quickbooks(invoice, customer_ref, item), f"b-i-{written}")
            written += 1
            if invoice.status == "paid":
                qb.create_payment(payment_to_quickbooks(invoice, created["Id"], customer_ref), f"b-p-{written}")
                written += 1
        return time.perf_counter() - started, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="multiplies the 12 seeded customers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        baseline_s, baseline_n = run_baseline(args.scale, Path(tmp))
        concord_s, concord_n = run_concord(args.scale, Path(tmp))
    print(f"scale {args.scale}: {baseline_n} QuickBooks writes (customers, invoices, payments)")
    print(f"baseline (bare SDK creates):      {baseline_s:7.2f} s  {baseline_n / baseline_s:8.1f} writes/s")
    print(f"concord (outbox, lookup, links):  {concord_s:7.2f} s  {concord_n / concord_s:8.1f} writes/s")
    print(f"ratio concord/baseline time:      {concord_s / baseline_s:7.2f}x")
    if concord_n != baseline_n:
        raise SystemExit(f"write counts differ: concord {concord_n}, baseline {baseline_n}")


if __name__ == "__main__":
    main()
