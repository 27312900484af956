"""Full pulls through Concord's connectors against a bare HTTP loop over the same endpoints.

The sandboxes run in a separate process (`concord sandbox up`), so the CPU time measured here is the
client's alone. For each vendor: records/s, client CPU ms per record and peak Python memory while
pulling (tracemalloc), for Concord's connector (official SDK, pinned-CA session, retries, response
counting) and for a bare httpx loop that only pages and parses JSON (the ceiling). The ratio is
Concord's records/s over the bare loop's.

    .venv/bin/python benchmarks/bench_pull.py [--scale 100]     (12 customers per unit of scale)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable

import httpx

from connectors.salesforce import SalesforceConnector
from connectors.stripe import StripeConnector


def _start_sandboxes(scale: int) -> tuple[subprocess.Popen, dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "concord.cli", "sandbox", "up", "--systems", "stripe,salesforce",
         "--scale", str(scale), "--no-limits"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    env: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            env[name] = value.strip("'")
        if "STRIPE_API_KEY" in env and "SALESFORCE_INSTANCE_URL" in env and len(env) >= 5:
            break
    return process, env


def _measure(pull: Callable[[], Iterable]) -> tuple[int, float, float, float]:
    tracemalloc.start()
    cpu, wall = time.process_time(), time.perf_counter()
    count = sum(1 for _ in pull())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, wall, cpu, peak


def _bare_stripe(env: dict[str, str]):
    headers = {"Authorization": f"Bearer {env['STRIPE_API_KEY']}"}
    with httpx.Client(verify=env["CONCORD_CA_BUNDLE"], timeout=60, headers=headers) as client:
        params: dict[str, str | int] = {"limit": 100}
        while True:
            page = client.get(env["STRIPE_API_BASE"] + "/v1/customers", params=params).json()
            yield from page["data"]
            if not page["has_more"]:
                return
            params["starting_after"] = page["data"][-1]["id"]


def _bare_salesforce(env: dict[str, str]):
    headers = {"Authorization": f"Bearer {env['SALESFORCE_ACCESS_TOKEN']}"}
    base = env["SALESFORCE_INSTANCE_URL"]
    with httpx.Client(verify=env["CONCORD_CA_BUNDLE"], timeout=60, headers=headers) as client:
        page = client.get(base + "/services/data/v59.0/query",
                          params={"q": "SELECT Id, Name, Stripe_Customer_Id__c, CurrencyIsoCode, LastModifiedDate "
                                       "FROM Account ORDER BY Id"}).json()
        while True:
            yield from page["records"]
            if page["done"]:
                return
            page = client.get(base + page["nextRecordsUrl"]).json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100)
    args = parser.parse_args()
    process, env = _start_sandboxes(args.scale)
    try:
        ca = env["CONCORD_CA_BUNDLE"]
        stripe_connector = StripeConnector(env["STRIPE_API_KEY"], env["STRIPE_API_BASE"], ca)
        salesforce = SalesforceConnector(env["SALESFORCE_INSTANCE_URL"], env["SALESFORCE_ACCESS_TOKEN"], ca)
        cases = [
            ("stripe customers", lambda: stripe_connector.iter_customers(), lambda: _bare_stripe(env)),
            ("salesforce accounts", lambda: salesforce.iter_accounts(), lambda: _bare_salesforce(env)),
        ]
        print(f"scale {args.scale} ({12 * args.scale} customers); sandboxes in another process (pid {process.pid})")
        print(f"{'stream':<20} {'client':<8} {'records':>8} {'rec/s':>9} {'cpu ms/rec':>10} "
              f"{'peak MiB':>9} {'ratio':>6}")
        for name, concord_pull, bare_pull in cases:
            bare = _measure(bare_pull)
            concord = _measure(concord_pull)
            for label, (count, wall, cpu, peak) in (("bare", bare), ("concord", concord)):
                ratio = (concord[0] / concord[1]) / (bare[0] / bare[1]) if label == "concord" else 1.0
                print(f"{name:<20} {label:<8} {count:>8} {count / wall:>9.0f} {1000 * cpu / max(count, 1):>10.3f} "
                      f"{peak / 2**20:>9.1f} {ratio:>6.2f}")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
