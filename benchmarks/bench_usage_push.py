"""What Concord's usage path (internal usage events -> Stripe meter events) costs and gains against bare SDK calls.

Concord plans one outbox row per event (key stored first), counts each attempt before the call, sends with
`identifier` and Idempotency-Key, and records every outcome in the hub. The baseline sends the same events
straight through the connector, one SDK create after another (no outbox, no hub). The Stripe sandbox runs in
a child process (`concord sandbox up --no-limits`), so the client's CPU is measured alone, and every case
runs against it in the same run:

- loopback: bare sequential loop, Concord with 1 worker, Concord with 8 workers (events/s and the ratios);
- 150 ms of added latency per request (the `slow` profile): bare sequential loop against Concord's 8 workers;
- steady state: a second push over everything already sent (seconds, requests: nothing is resent);
- planning at volume: --plan-events usage rows landed, planned once, then planned again (all already planned:
  the hub's anti-join returns none of them).

No rate limit is enforced here (Stripe's is 25 req/s in test mode, 100 in live mode, and the connector's
shared limiter keeps a real run under it): the figures say what Concord's own path costs.

    .venv/bin/python benchmarks/bench_usage_push.py [--events 2000] [--slow-events 200] [--plan-events 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Sandboxes  # noqa: E402 - benchmarks run as scripts

from connectors.meter_event_rules import unix_seconds  # noqa: E402
from connectors.stripe import StripeConnector  # noqa: E402
from connectors.stripe_usage_sync import UsageCounts, plan_usage, push_usage  # noqa: E402
from mappings.stripe import customer_from_stripe  # noqa: E402
from store.hub import Hub  # noqa: E402


def _connector(env: dict[str, str]) -> StripeConnector:
    return StripeConnector(env["STRIPE_API_KEY"], env["STRIPE_API_BASE"], env["CONCORD_CA_BUNDLE"])


def _rows(first_id: int, count: int, customers: list[str]) -> list[tuple[str, dict]]:
    occurred = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None, microsecond=0).isoformat()
    return [(str(event_id), {"id": event_id, "stripe_customer_id": customers[event_id % len(customers)],
                             "event_name": "api_calls", "quantity": 1 + event_id % 97, "occurred_at": occurred})
            for event_id in range(first_id, first_id + count)]


def _hub(workdir: Path, name: str, customers) -> Hub:
    hub = Hub(f"sqlite:///{workdir / f'{name}.db'}")
    hub.migrate()
    hub.upsert_customers(customers)
    return hub


def _bare(connector: StripeConnector, rows: list[tuple[str, dict]]) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) of one SDK create after another."""
    cpu, started = time.process_time(), time.perf_counter()
    timestamp = unix_seconds(datetime.now(UTC) - timedelta(hours=1))
    for event_id, row in rows:
        connector.create_meter_event("api_calls", {"stripe_customer_id": row["stripe_customer_id"],
                                                   "value": str(row["quantity"])}, event_id, timestamp,
                                     f"bare-{event_id}")
    return time.perf_counter() - started, time.process_time() - cpu


def _concord(hub: Hub, connector: StripeConnector, rows: list[tuple[str, dict]], workers: int
             ) -> tuple[float, float, UsageCounts]:
    hub.land_raw("internal", "usage_events", rows)
    cpu, started = time.process_time(), time.perf_counter()
    counts = push_usage(hub, connector, workers=workers)
    return time.perf_counter() - started, time.process_time() - cpu, counts


def _line(label: str, events: int, seconds: float, baseline: float | None = None, extra: str = "") -> None:
    ratio = f"{(events / seconds) / (baseline or 1):6.2f}x" if baseline else "     -"
    print(f"| {label:<44} | {events:>7,} | {seconds:8.2f} | {events / seconds:9.0f} | {ratio} | {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--slow-events", type=int, default=200)
    parser.add_argument("--plan-events", type=int, default=100_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-usage-"))
    with Sandboxes("stripe", scale=1, vendor_limits=False) as sandboxes, sandboxes.http("stripe") as control:
        env = sandboxes.env
        connector = _connector(env)
        customers = [customer_from_stripe(obj) for obj in connector.iter_customers()]
        ids = [customer.stripe_id for customer in customers]
        n = args.events
        print("| case | events | seconds | events/s | vs bare | notes |")
        print("|---|---|---|---|---|---|")
        bare, bare_cpu = _bare(connector, _rows(1, n, ids))
        _line("loopback: bare SDK loop, sequential", n, bare, None, f"client CPU {1000 * bare_cpu / n:.2f} ms/event")
        for workers, first in ((1, 1_000_000), (8, 2_000_000)):
            hub = _hub(workdir, f"w{workers}", customers)
            seconds, cpu, counts = _concord(hub, _connector(env), _rows(first, n, ids), workers)
            _line(f"loopback: Concord push, {workers} worker(s)", counts.sent, seconds, n / bare,
                  f"client CPU {1000 * cpu / max(counts.sent, 1):.2f} ms/event")
            if workers == 8:
                again_connector = _connector(env)
                started = time.perf_counter()
                again = push_usage(hub, again_connector)
                print(f"| steady state: second push over {n:,} sent | {again.sent:>7} | "
                      f"{time.perf_counter() - started:8.2f} | - | - | "
                      f"{again_connector.response_stats.as_metadata()['http_requests']} requests |")

        slow = args.slow_events
        control.post("/_sandbox/fault-profile", json={"profile": "slow", "seed": 1}).raise_for_status()
        try:
            bare_slow, _ = _bare(_connector(env), _rows(3_000_000, slow, ids))
            _line("150 ms latency: bare SDK loop, sequential", slow, bare_slow)
            hub = _hub(workdir, "slow", customers)
            seconds, _, counts = _concord(hub, _connector(env), _rows(4_000_000, slow, ids), 8)
            _line("150 ms latency: Concord push, 8 workers", counts.sent, seconds, slow / bare_slow)
        finally:
            control.post("/_sandbox/fault-profile", json={"profile": "none"}).raise_for_status()

        volume = args.plan_events
        hub = _hub(workdir, "plan", customers)
        hub.land_raw("internal", "usage_events", _rows(5_000_000, volume, ids))
        for label in ("first plan (all new)", "second plan (all planned)"):
            counts = UsageCounts()
            started = time.perf_counter()
            plan_usage(hub, counts, datetime.now(UTC))
            _line(f"planning {volume:,} landed events: {label}", volume, time.perf_counter() - started, None,
                  f"{counts.planned:,} rows stored")


if __name__ == "__main__":
    main()
