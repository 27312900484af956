"""How fast each sandbox serves: requests/s and records/s for full list pages, per vendor.

For each sandbox, one keep-alive HTTPS client reads pages of the vendor's list/query endpoint
(Stripe customers 100 per page, Salesforce Accounts via SOQL up to 2000 per page, QuickBooks
Customers 1000 per page) and then calls a control endpoint that does no vendor work, on the
same server and connection. That second figure is the ceiling of the HTTP stack itself, so the
ratio shows what the sandbox's own work costs.

    .venv/bin/python benchmarks/bench_sandboxes.py [--scale 100] [--pages 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from sandboxes.runner import start_sandboxes


def _timed(client: httpx.Client, url: str, count: int, headers: dict | None = None,
           records=lambda body: 0) -> tuple[float, int]:
    served = 0
    started = time.perf_counter()
    for _ in range(count):
        response = client.get(url, headers=headers)
        response.raise_for_status()
        served += records(response.json())
    return time.perf_counter() - started, served


def _stripe(env: dict, client: httpx.Client, pages: int):
    url = env["STRIPE_API_BASE"] + "/v1/customers?limit=100"
    auth = {"Authorization": f"Bearer {env['STRIPE_API_KEY']}"}
    return _timed(client, url, pages, auth, lambda body: len(body["data"]))


def _salesforce(env: dict, client: httpx.Client, pages: int):
    url = env["SALESFORCE_INSTANCE_URL"] + "/services/data/v59.0/query?q=SELECT+Id,Name+FROM+Account"
    auth = {"Authorization": f"Bearer {env['SALESFORCE_ACCESS_TOKEN']}"}
    return _timed(client, url, pages, auth, lambda body: len(body["records"]))


def _quickbooks(env: dict, client: httpx.Client, pages: int):
    base = f"{env['QUICKBOOKS_BASE_URL']}/v3/company/{env['QUICKBOOKS_REALM_ID']}"
    auth = {"Authorization": f"Bearer {env['QUICKBOOKS_ACCESS_TOKEN']}", "Accept": "application/json"}
    existing = client.get(base + "/query?query=SELECT+COUNT(*)+FROM+Customer&minorversion=75", headers=auth)
    if existing.json()["QueryResponse"].get("totalCount", 0) == 0:
        # QuickBooks starts empty (Concord's sync fills it): give the query something to page through.
        for number in range(1000):
            client.post(base + "/customer?minorversion=75", headers=auth,
                        json={"DisplayName": f"Benchmark customer {number}"}).raise_for_status()
    url = base + "/query?query=SELECT+*+FROM+Customer+MAXRESULTS+1000&minorversion=75"
    return _timed(client, url, pages, auth,
                  lambda body: sum(len(v) for v in body["QueryResponse"].values() if isinstance(v, list)))


READERS = {"stripe": _stripe, "salesforce": _salesforce, "quickbooks": _quickbooks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100, help="multiplies the 12 seeded customers")
    parser.add_argument("--pages", type=int, default=200, help="pages read per sandbox")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        # Vendor rate limits off: this measures what the servers can serve, not the vendors' quotas.
        sandboxes = start_sandboxes(scale=args.scale, state_dir=Path(tmp), vendor_limits=False)
        print(f"seeded {len(sandboxes.seed.accounts)} customers, {len(sandboxes.seed.invoices)} invoices "
              f"in {time.perf_counter() - started:.2f} s")
        env = sandboxes.environment()
        print(f"{'sandbox':<11} {'list req/s':>10} {'records/s':>10} {'ms/page':>8} {'no-op req/s':>11} {'ratio':>6}")
        try:
            with httpx.Client(verify=env["CONCORD_CA_BUNDLE"], timeout=30) as client:
                for system, read in READERS.items():
                    read(env, client, 5)  # warm the connection
                    seconds, records = read(env, client, args.pages)
                    noop_url = sandboxes.base_url(system) + "/_sandbox/fault-profile"
                    noop_seconds, _ = _timed(client, noop_url, args.pages)
                    print(f"{system:<11} {args.pages / seconds:>10.0f} {records / seconds:>10.0f} "
                          f"{1000 * seconds / args.pages:>8.2f} {args.pages / noop_seconds:>11.0f} "
                          f"{noop_seconds / seconds:>6.2f}")
        finally:
            sandboxes.stop()
    print("ratio = list request rate / no-op request rate on the same server (1.00: the sandbox adds nothing)")


if __name__ == "__main__":
    main()
