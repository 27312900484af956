"""Shared pieces of the connector benchmarks: sandboxes in another process, measuring, bare HTTP loops.

The sandboxes run in a child process (`concord sandbox up`), so the CPU time measured here is the
client's alone. A bare loop only pages and parses JSON over httpx: it is the ceiling a connector is
compared with, measured in the same run against the same server.
"""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import httpx

from connectors.qbo_query import select


class Sandboxes:
    """`concord sandbox up` in a child process; `env` holds the export lines it printed."""

    def __init__(self, systems: str, scale: int, vendor_limits: bool, history_months: int = 0) -> None:
        # No year of renewal invoices by default: the full-pull case asks for ~100,000 invoices, not a million.
        command = [sys.executable, "-m", "concord.cli", "sandbox", "up", "--systems", systems, "--scale", str(scale),
                   "--history-months", str(history_months)]
        if not vendor_limits:
            command.append("--no-limits")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.env: dict[str, str] = {}
        wanted = {"stripe": "STRIPE_API_KEY", "salesforce": "SALESFORCE_INSTANCE_URL",
                  "quickbooks": "QUICKBOOKS_REALM_ID"}
        needed = {wanted[name] for name in systems.split(",")}
        for line in self.process.stdout:  # type: ignore[union-attr]
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                self.env[name] = value.strip("'")
            if needed <= set(self.env) and "CONCORD_CA_BUNDLE" in self.env:
                break
        if not needed <= set(self.env):
            raise RuntimeError("the sandboxes did not start; run `concord sandbox up` by hand to see why")

    def http(self, system: str) -> httpx.Client:
        """A client for the control API (and setup calls) of one sandbox."""
        base = {"stripe": "STRIPE_API_BASE", "salesforce": "SALESFORCE_INSTANCE_URL",
                "quickbooks": "QUICKBOOKS_BASE_URL"}[system]
        return httpx.Client(base_url=self.env[base], verify=self.env["CONCORD_CA_BUNDLE"], timeout=600)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)

    def __enter__(self) -> Sandboxes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class Measured:
    records: int
    wall: float
    cpu: float
    peak_bytes: int
    requests: int | None = None

    @property
    def per_second(self) -> float:
        return self.records / self.wall if self.wall else 0.0

    @property
    def cpu_ms_per_record(self) -> float:
        return 1000 * self.cpu / max(self.records, 1)


def measure(pull: Callable[[], Iterable], limit: int | None = None, trace_memory: bool = False) -> Measured:
    """Consume `pull()` (the first `limit` records when given) and measure wall and CPU time; with
    `trace_memory`, peak Python memory too (tracemalloc slows allocation, so timing passes run without it)."""
    if trace_memory:
        tracemalloc.start()
    cpu, wall = time.process_time(), time.perf_counter()
    count = sum(1 for _ in islice(pull(), limit))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
    if trace_memory:
        tracemalloc.stop()
    return Measured(count, wall, cpu, peak)


def bare_stripe(env: dict[str, str], path: str, params: dict | None = None) -> Iterator[dict]:
    headers = {"Authorization": f"Bearer {env['STRIPE_API_KEY']}"}
    with httpx.Client(verify=env["CONCORD_CA_BUNDLE"], timeout=120, headers=headers) as client:
        query: dict = {"limit": 100, **(params or {})}
        while True:
            page = client.get(env["STRIPE_API_BASE"] + path, params=query).json()
            yield from page["data"]
            if not page["has_more"]:
                return
            query["starting_after"] = page["data"][-1]["id"]


def bare_salesforce(env: dict[str, str], soql: str) -> Iterator[dict]:
    headers = {"Authorization": f"Bearer {env['SALESFORCE_ACCESS_TOKEN']}"}
    base = env["SALESFORCE_INSTANCE_URL"]
    with httpx.Client(verify=env["CONCORD_CA_BUNDLE"], timeout=120, headers=headers) as client:
        page = client.get(base + "/services/data/v59.0/query", params={"q": soql}).json()
        while True:
            yield from page["records"]
            if page["done"]:
                return
            page = client.get(base + page["nextRecordsUrl"]).json()


def bare_quickbooks(env: dict[str, str], entity: str, page_size: int = 1000) -> Iterator[dict]:
    headers = {"Authorization": f"Bearer {env['QUICKBOOKS_ACCESS_TOKEN']}", "Accept": "application/json"}
    url = f"{env['QUICKBOOKS_BASE_URL']}/v3/company/{env['QUICKBOOKS_REALM_ID']}/query"
    with httpx.Client(verify=env["CONCORD_CA_BUNDLE"], timeout=120, headers=headers) as client:
        start = 1
        while True:
            statement = select(entity, [], start_position=start, max_results=page_size)
            rows = client.get(url, params={"query": statement, "minorversion": 75}).json()["QueryResponse"]
            rows = rows.get(entity, [])
            yield from rows
            if len(rows) < page_size:
                return
            start += page_size
