"""Concord's connectors against the ceiling: full pulls, added latency, incremental re-syncs, 429 storms.

    .venv/bin/python benchmarks/bench_connectors.py [--scale 8334] [--small-scale 1000]

`--scale` sets the big sandboxes (12 customers per unit: 8334 gives 100,008 customers and 200,016
invoices, and the same in QuickBooks through /_sandbox/books/from-seed); `--small-scale` the ones
the latency and storm cases use, which run with the vendors' own limits. Every ratio is against a
baseline measured in the same run on the same server:

1. full pull, per vendor and stream: Concord's connector vs a bare httpx loop over the same endpoint
   (records/s ratio; client CPU ms per record; peak memory, in separate passes under tracemalloc, at a
   tenth of the records and at all of them, which must not grow with the number of records);
2. 150 ms (+ up to 50 ms) of added latency per request: Concord's concurrent `created` windows vs the
   sequential bare loop, at Stripe's live-mode limit of 100 req/s enforced by the sandbox, with the
   sandbox's count of 429s (0 means the limit was never exceeded);
3. incremental re-sync after 100 changes and 20 deletes: requests and time vs the full pull;
4. 429 storms in time (the `storm` and `storm-bare` profiles: 429s with and without Retry-After) at Stripe's
   test-mode 25 req/s, every customer, sequentially and in 8 concurrent windows: records/s as a fraction of
   what the limit allows and against the same read without storms, 429s met, refusals by the sandbox's own
   limiter (0: the limit was never exceeded), failures (must be 0).
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from harness import (
    Measured,
    Sandboxes,
    bare_quickbooks,
    bare_salesforce,
    bare_stripe,
    measure,
)
from pyrate_limiter import Duration, Rate
from simple_salesforce import format_soql

from connectors.quickbooks import QuickBooksConnector
from connectors.salesforce import ACCOUNT_FIELDS, SalesforceConnector
from connectors.stripe import StripeConnector
from connectors.stripe_entities import BY_NAME
from sandboxes.seed import build_seed

CHANGES, DELETES = 100, 20
ROUNDS = 2
STORM_PAGE = 20  # 12,000 customers (--small-scale 1000) in 600 requests: ~24 s at 25 req/s, some six storms


def _connectors(env: dict[str, str], stripe_rates: list[Rate] | None = None):
    ca = env["CONCORD_CA_BUNDLE"]
    stripe = StripeConnector(env["STRIPE_API_KEY"], env["STRIPE_API_BASE"], ca, rate_limits=stripe_rates)
    salesforce = SalesforceConnector(env["SALESFORCE_INSTANCE_URL"], env["SALESFORCE_ACCESS_TOKEN"], ca) \
        if "SALESFORCE_INSTANCE_URL" in env else None
    quickbooks = QuickBooksConnector(env["QUICKBOOKS_BASE_URL"], env["QUICKBOOKS_REALM_ID"],
                                     env["QUICKBOOKS_ACCESS_TOKEN"], ca) if "QUICKBOOKS_REALM_ID" in env else None
    return stripe, salesforce, quickbooks


def _row(*cells: object, widths=(22, 16, 9, 9, 10, 10, 10, 7)) -> str:
    return " ".join(f"{cell:<{width}}" if index < 2 else f"{cell:>{width}}"
                    for index, (cell, width) in enumerate(zip(cells, widths, strict=False)))


def full_pulls(boxes: Sandboxes, streams: tuple[str, ...] = ()) -> dict[str, tuple[Measured, int]]:
    """Case 1 (only the streams whose names start with one of `streams`, when given); returns each stream's
    Concord measurement and request count, for case 3's comparison.

    Where Concord has two ways to read everything, both are shown: the sequential pager (`concord pager`, what
    incremental reads and embedded lists page with) and what a first sync uses (`concord first sync`: Stripe's
    concurrent `created` windows with the adaptive number in flight, whose peak is printed; `concord bulk`:
    Salesforce Bulk API 2.0)."""
    env = boxes.env
    soql = format_soql("SELECT {:literal} FROM Account ORDER BY Id", ", ".join(ACCOUNT_FIELDS))
    cases = [
        ("stripe customers", lambda: bare_stripe(env, "/v1/customers"), [
            ("concord pager", lambda c: c[0].iter_customers()),
            ("concord first sync", lambda c: c[0].iter_in_windows(BY_NAME["customer"]))]),
        ("stripe invoices", lambda: bare_stripe(env, "/v1/invoices"), [
            ("concord pager", lambda c: c[0].iter_invoices()),
            ("concord first sync", lambda c: c[0].iter_in_windows(BY_NAME["invoice"]))]),
        ("salesforce accounts", lambda: bare_salesforce(env, soql), [
            ("concord", lambda c: c[1].iter_accounts()),
            ("concord bulk", lambda c: c[1].changes("Account", None, fields=list(ACCOUNT_FIELDS)))]),
        ("quickbooks customers", lambda: bare_quickbooks(env, "Customer"),
         [("concord", lambda c: c[2].iter_customers())]),
        ("quickbooks invoices", lambda: bare_quickbooks(env, "Invoice"),
         [("concord", lambda c: c[2].iter_invoices())]),
    ]
    cases = [case for case in cases if not streams or case[0].startswith(streams)]
    print("\n1. full pull (client CPU and memory of this process; sandboxes in another)")
    print(_row("stream", "client", "records", "rec/s", "cpu ms/rec", "peak@10%", "peak MiB", "ratio"))
    results = {}
    for name, bare_pull, variants in cases:
        # Best of ROUNDS, the clients taking turns, so a noisy moment on a shared machine favours neither.
        timings: dict[str, list[Measured]] = {}
        requests: dict[str, int] = {}
        peaks: dict[str, list[int]] = {}
        for _ in range(ROUNDS):
            timings.setdefault("bare", []).append(measure(bare_pull))
            for label, pull in variants:
                connectors = _connectors(env)
                timings.setdefault(label, []).append(measure(lambda pull=pull, connectors=connectors: pull(connectors)))
                connector = next(c for c in connectors if c is not None and name.startswith(_system(c)))
                requests[label] = connector.response_stats.as_metadata()["http_requests"]
                if getattr(connector, "window_concurrency", None) is not None:
                    peaks.setdefault(label, []).append(connector.window_concurrency.peak)
        bare = _best(timings["bare"])
        print(_row(name, "bare", bare.records, f"{bare.per_second:.0f}", f"{bare.cpu_ms_per_record:.3f}", "", "",
                   "1.00"))
        for label, pull in variants:
            concord = _best(timings[label])
            results.setdefault(name, (concord, requests[label]))
            # Memory in passes of their own: tracemalloc would inflate the CPU figures above.
            small, whole = (measure(lambda pull=pull: pull(_connectors(env)), limit=limit, trace_memory=True)
                            for limit in (bare.records // 10, None))
            print(_row(name, label, concord.records, f"{concord.per_second:.0f}",
                       f"{concord.cpu_ms_per_record:.3f}", f"{small.peak_bytes / 2**20:.1f}",
                       f"{whole.peak_bytes / 2**20:.1f}", f"{concord.per_second / bare.per_second:.2f}")
                  + (f"  peak in flight {max(peaks[label])}" if label in peaks else ""))
    return results


def _best(runs: list[Measured]) -> Measured:
    return max(runs, key=lambda run: run.per_second)


def _system(connector: object) -> str:
    return type(connector).__name__.removesuffix("Connector").lower()


def incremental(boxes: Sandboxes, full: dict[str, tuple[Measured, int]]) -> None:
    """Case 3: a change-log read after CHANGES updates and DELETES deletes, against the full pull."""
    stripe, salesforce, quickbooks = _connectors(boxes.env)
    rows = []
    # Stripe: the Events API after a cursor, each changed object re-read at our API version.
    feed = stripe.iter_events(None)
    list(feed)
    cursor = feed.cursor
    with boxes.http("stripe") as http:
        http.headers["Authorization"] = f"Bearer {boxes.env['STRIPE_API_KEY']}"
        http.post("/_sandbox/clock", json={"advance_seconds": 60})
        ids = [c["id"] for c in bare_stripe(boxes.env, "/v1/customers", {"limit": 100})][:CHANGES + DELETES]
        for customer_id in ids[:CHANGES]:
            http.post(f"/v1/customers/{customer_id}", data={"metadata[bench]": "changed"}).raise_for_status()
        for customer_id in ids[CHANGES:]:
            http.delete(f"/v1/customers/{customer_id}").raise_for_status()
    stripe, _, _ = _connectors(boxes.env)
    rows.append(_incremental_row("stripe customers", full, stripe,
                                 lambda: stripe.changed_objects(stripe.iter_events(cursor))))
    # Salesforce: queryAll after the (SystemModstamp, Id) cursor, getDeleted for hard deletes.
    feed = salesforce.changes("Account", None, fields=list(ACCOUNT_FIELDS))
    list(feed)
    cursor = feed.cursor
    with boxes.http("salesforce") as http:
        http.headers["Authorization"] = f"Bearer {boxes.env['SALESFORCE_ACCESS_TOKEN']}"
        base = "/services/data/v59.0"
        answer = http.get(base + "/query", params={"q": format_soql("SELECT Id FROM Account LIMIT {}",
                                                                              CHANGES + DELETES)})
        ids = [record["Id"] for record in answer.json()["records"]]
        for account_id in ids[:CHANGES]:
            http.patch(f"{base}/sobjects/Account/{account_id}", json={"Phone": "+1 555 0100"}).raise_for_status()
        for account_id in ids[CHANGES:]:
            http.delete(f"{base}/sobjects/Account/{account_id}").raise_for_status()
    _, salesforce, _ = _connectors(boxes.env)
    rows.append(_incremental_row("salesforce accounts", full, salesforce,
                                 lambda: salesforce.changes("Account", cursor, fields=list(ACCOUNT_FIELDS))))
    # QuickBooks: query on MetaData.LastUpdatedTime after the cursor, CDC for deletes.
    feed = quickbooks.iter_changed("Invoice", None)
    list(feed)
    cursor = feed.cursor
    realm = boxes.env["QUICKBOOKS_REALM_ID"]
    with boxes.http("quickbooks") as http:
        http.headers.update({"Authorization": f"Bearer {boxes.env['QUICKBOOKS_ACCESS_TOKEN']}",
                             "Accept": "application/json"})
        http.post("/_sandbox/clock", json={"advance_seconds": 60})
        for invoice_id in range(1, CHANGES + 1):
            http.post(f"/_sandbox/edit/invoice/{invoice_id}", json={"DueDate": "2027-01-31"}).raise_for_status()
        for invoice_id in range(CHANGES + 1, CHANGES + DELETES + 1):
            current = http.get(f"/v3/company/{realm}/invoice/{invoice_id}").json()["Invoice"]
            http.post(f"/v3/company/{realm}/invoice", params={"operation": "delete"},
                      json={"Id": current["Id"], "SyncToken": current["SyncToken"]}).raise_for_status()
    time.sleep(1.1)  # QuickBooks' current second is read next run (connectors/quickbooks_changes.py): let it close
    _, _, quickbooks = _connectors(boxes.env)
    rows.append(_incremental_row("quickbooks invoices", full, quickbooks,
                                 lambda: quickbooks.iter_changed("Invoice", cursor)))
    print(f"\n3. incremental re-sync after {CHANGES} changes and {DELETES} deletes")
    print(_row("stream", "mode", "records", "requests", "seconds", "deletes", "", "", widths=(22, 12, 9, 9, 9, 9)))
    for row in rows:
        print(row)


def _incremental_row(name: str, full: dict[str, tuple[Measured, int]], connector, read) -> str:
    start = time.perf_counter()
    changes = list(read())
    seconds = time.perf_counter() - start
    deletes = sum(1 for change in changes if change.deleted)
    requests = connector.response_stats.as_metadata()["http_requests"]
    whole, whole_requests = full[name]
    return (_row(name, "full", whole.records, whole_requests, f"{whole.wall:.2f}", "", widths=(22, 12, 9, 9, 9, 9))
            + "\n" + _row(name, "incremental", len(changes), requests, f"{seconds:.2f}", deletes,
                          widths=(22, 12, 9, 9, 9, 9)))


def latency_and_storm(boxes: Sandboxes, scale: int) -> None:
    """Cases 2 and 4 on Stripe, with the sandbox enforcing Stripe's limits."""
    env = boxes.env
    accounts = build_seed(42, scale).accounts  # the sandbox's own seed: the window holds every customer
    window = {"gte": min(a.created for a in accounts), "lt": max(a.created for a in accounts) + 1}
    params = {"created[gte]": window["gte"], "created[lt]": window["lt"]}
    with boxes.http("stripe") as control:
        control.post("/_sandbox/rate_limit", json={"per_second": 100}).raise_for_status()  # live mode
        control.post("/_sandbox/fault-profile", json={"profile": "slow", "seed": 7}).raise_for_status()
        bare = measure(lambda: bare_stripe(env, "/v1/customers", params))
        live = [Rate(100, Duration.SECOND)]
        rows = []
        for workers in (8, 32):
            stripe, _, _ = _connectors(env, stripe_rates=live)
            before = _throttled_in_log(control)
            concord = measure(lambda stripe=stripe, workers=workers: stripe.list_customers_in_windows(
                window["gte"], window["lt"], window_count=workers * 2, workers=workers))
            rows.append((workers, concord, _throttled_in_log(control) - before, stripe.window_concurrency.peak))
        print("\n2. 150 ms (+ up to 50 ms) latency per request, Stripe live-mode limit 100 req/s in the sandbox")
        print(_row("client", "", "records", "rec/s", "seconds", "429s", "ratio", widths=(26, 1, 9, 9, 9, 9, 7)))
        print(_row("bare sequential loop", "", bare.records, f"{bare.per_second:.0f}", f"{bare.wall:.1f}", "",
                   "1.00", widths=(26, 1, 9, 9, 9, 9, 7)))
        for workers, concord, throttled, peak in rows:
            print(_row(f"concord, {workers} windows/threads", "", concord.records, f"{concord.per_second:.0f}",
                       f"{concord.wall:.1f}", throttled, f"{concord.per_second / bare.per_second:.2f}",
                       widths=(26, 1, 9, 9, 9, 9, 7)) + f"  peak in flight {peak}")

        storm(env, control, window)


def _storm_read(env: dict[str, str], control, read) -> tuple[Measured, dict, int]:
    """One read at the test-mode limit: (measured, the client's response counts, failures)."""
    stripe, _, _ = _connectors(env, stripe_rates=[Rate(25, Duration.SECOND)])
    control.post("/_sandbox/rate_limit", json={"per_second": 25}).raise_for_status()  # full buckets
    try:
        return measure(lambda: read(stripe)), stripe.response_stats.as_metadata(), 0
    except Exception as error:  # a failure is what this case counts
        print(f"   the read failed: {error!r}")
        return Measured(0, 1.0, 0.0, 0), stripe.response_stats.as_metadata(), 1


def storm(env: dict[str, str], control, window: dict[str, int]) -> None:
    """Case 4: the `storm` and `storm-bare` profiles (storms in time, 429s with and without Retry-After) at
    Stripe's test-mode 25 req/s, every customer in pages of STORM_PAGE (STORM_PAGE x 25 records/s is what the
    limit allows); the baseline is the same read without storms, in the same run. A refusal by the sandbox's
    own 25/s limiter would mean Concord exceeded Stripe's limit."""
    reads = {
        "sequential pager": lambda stripe: stripe.iter_customers(page_size=STORM_PAGE),
        "8 windows/threads": lambda stripe: stripe.list_customers_in_windows(
            window["gte"], window["lt"], window_count=16, workers=8, page_size=STORM_PAGE),
    }
    allowed = 25 * STORM_PAGE
    print(f"\n4. 429 storms at Stripe's test-mode limit (25 req/s, {STORM_PAGE} records a page: {allowed} rec/s "
          "allowed); storms about every 4 s, 2 s in which 5 requests/s get through; the rest get 429 with Retry-After "
          "(`storm`) or without (`storm-bare`: Stripe documents none)")
    widths = (20, 11, 9, 9, 9, 9, 9, 9, 9)
    print(_row("client", "faults", "records", "rec/s", "of limit", "vs calm", "429s", "refused", "failures",
               widths=widths))
    for name, read in reads.items():
        calm = None
        for faults in ("none", "storm", "storm-bare"):
            control.post("/_sandbox/fault-profile", json={"profile": faults, "seed": 7}).raise_for_status()
            refused_before = _refused_in_log(control)
            measured, stats, failures = _storm_read(env, control, read)
            injected = control.get("/_sandbox/fault-profile").json()["injected"].get("rate_limit", 0)
            calm = calm or measured
            print(_row(name, faults, measured.records, f"{measured.per_second:.0f}",
                       f"{measured.per_second / allowed:.2f}", f"{measured.per_second / calm.per_second:.2f}",
                       f"{injected}/{stats['http_throttled']}", _refused_in_log(control) - refused_before, failures,
                       widths=widths))
        control.post("/_sandbox/fault-profile", json={"profile": "none", "seed": 7}).raise_for_status()
    print("   429s: storm refusals the sandbox sent / the client counted; refused: by the sandbox's own 25/s limiter")


def _refused_in_log(control) -> int:
    return sum(1 for entry in control.get("/_sandbox/requests").json() if entry.get("rate_limited"))


def _throttled_in_log(control) -> int:
    return sum(1 for entry in control.get("/_sandbox/requests").json() if entry.get("status") == 429)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=8334, help="big sandboxes (12 customers per unit)")
    parser.add_argument("--small-scale", type=int, default=1000, help="latency and storm sandboxes")
    parser.add_argument("--only-limits", action="store_true", help="only cases 2 and 4 (latency, 429 storm)")
    parser.add_argument("--streams", default="", help="only these full pulls (case 1, comma-separated name "
                                                      "prefixes such as 'stripe' or 'quickbooks invoices'); "
                                                      "skips cases 2 to 4")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.only_limits:
        with Sandboxes("stripe", args.small_scale, vendor_limits=True) as boxes:
            latency_and_storm(boxes, args.small_scale)
        return
    with Sandboxes("stripe,salesforce,quickbooks", args.scale, vendor_limits=False) as boxes:
        with boxes.http("quickbooks") as control:
            added = control.post("/_sandbox/books/from-seed").json()["added"]
        print(f"scale {args.scale}: {12 * args.scale} customers; QuickBooks books filled with {added}; "
              f"sandboxes ready in {time.perf_counter() - started:.1f} s (pid {boxes.process.pid})")
        streams = tuple(name.strip() for name in args.streams.split(",") if name.strip())
        full = full_pulls(boxes, streams)
        if streams:
            return
        incremental(boxes, full)
    with Sandboxes("stripe", args.small_scale, vendor_limits=True) as boxes:
        latency_and_storm(boxes, args.small_scale)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    # The storm case meets about a hundred 429s by design: one retry warning each would bury the tables.
    logging.getLogger("concord.connectors.retry").setLevel(logging.ERROR)
    main()
