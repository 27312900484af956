"""How much Concord's safe write path costs against bare SDK calls, one by one and batched.

Concord pushes customers, invoices and payments to QuickBooks through the outbox: each write is a
stored row with its idempotency key, a lookup before create (one IN query per 30 rows), and a link in
the hub. It runs twice: one create per call (batch_size 1) and batched (30 items per batch call).
The baseline makes the same creates straight through the connector, one SDK create per record (no
outbox, no lookup, no hub). All three run in this process, each against a fresh QuickBooks sandbox
on loopback, so the ratios are the cost (or saving) of Concord's path, not of the network.

    .venv/bin/python benchmarks/bench_quickbooks_push.py [--scale 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from connectors.quickbooks import MAX_BATCH_ITEMS, QuickBooksConnector
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


def run_concord(scale: int, workdir: Path, batch_size: int) -> tuple[float, int]:
    with start_sandboxes(["stripe", "quickbooks"], scale=scale, state_dir=workdir / f"concord-{batch_size}",
                         vendor_limits=False) as sandboxes:
        env = sandboxes.environment()
        customers, invoices = _canonical(env)
        hub = Hub(f"sqlite:///{workdir / f'hub-{batch_size}.db'}")
        hub.migrate()
        hub.upsert_customers(customers)
        hub.upsert_invoices(invoices)
        qb = _quickbooks(env)
        started = time.perf_counter()
        pushed = [push_customers(hub, qb, batch_size=batch_size), push_invoices(hub, qb, batch_size=batch_size)]
        elapsed = time.perf_counter() - started
        if any(counts.failed or counts.waiting for counts in pushed):
            raise SystemExit(f"batch_size {batch_size}: {[counts.as_metadata() for counts in pushed]}")
        return elapsed, sum(counts.written for counts in pushed)


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
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each variant's best round is reported")
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, int]]] = {"baseline": [], "single": [], "batched": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(args.repeat):  # interleaved, so a noisy moment hits every variant alike
            workdir = Path(tmp) / str(round_number)
            runs["baseline"].append(run_baseline(args.scale, workdir))
            runs["single"].append(run_concord(args.scale, workdir, batch_size=1))
            runs["batched"].append(run_concord(args.scale, workdir, batch_size=MAX_BATCH_ITEMS))
    (baseline_s, baseline_n), (single_s, single_n), (batched_s, batched_n) = (
        min(runs[name]) for name in ("baseline", "single", "batched"))
    print(f"scale {args.scale}: {baseline_n} QuickBooks writes (customers, invoices, payments), best of {args.repeat}")
    print(f"baseline (bare SDK create loop):       {baseline_s:7.2f} s  {baseline_n / baseline_s:8.1f} writes/s")
    print(f"concord one by one (outbox, lookups):  {single_s:7.2f} s  {single_n / single_s:8.1f} writes/s")
    print(f"concord batched ({MAX_BATCH_ITEMS} per batch call):    {batched_s:7.2f} s  "
          f"{batched_n / batched_s:8.1f} writes/s")
    print(f"ratio one-by-one/baseline time:        {single_s / baseline_s:7.2f}x")
    print(f"ratio batched/baseline time:           {batched_s / baseline_s:7.2f}x")
    counts = {n for name in runs for _, n in runs[name]}
    if len(counts) != 1:
        raise SystemExit(f"write counts differ between variants or rounds: {runs}")


if __name__ == "__main__":
    main()
