"""Start the embedded sandboxes and describe them as environment variables.

`concord demo`, `concord ui`, `concord sandbox up` and the tests all start sandboxes through
`start_sandboxes`, so they meet the same servers a developer does.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sandboxes.faults import profile_named
from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.quickbooks.throttle import Throttle
from sandboxes.salesforce import SalesforceSandbox
from sandboxes.seed import SeedData, build_seed
from sandboxes.stripe import StripeSandbox
from sandboxes.tls import LocalCA, create_local_ca

log = logging.getLogger("concord.sandbox")

SANDBOX_CLASSES = {
    "stripe": StripeSandbox,
    "salesforce": SalesforceSandbox,
    "quickbooks": QuickBooksSandbox,
}


@dataclass
class RunningSandboxes:
    seed: SeedData
    tls: LocalCA
    servers: dict[str, object] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """The `export` lines that point Concord (or any client) at these sandboxes."""
        env = {"CONCORD_CA_BUNDLE": str(self.tls.bundle_path)}
        for server in self.servers.values():
            env.update(server.credentials())
        return env

    def base_url(self, system: str) -> str:
        return self.servers[system].base_url

    def save_state(self, path: Path) -> None:
        """Write every sandbox's state to one JSON file (written aside, then moved into place)."""
        state = {"seed": self.seed.seed, "systems": {name: box.snapshot() for name, box in self.servers.items()}}
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(state), encoding="utf-8")
        partial.replace(path)
        log.info("saved the sandboxes' state to %s", path)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> RunningSandboxes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_sandboxes(
    systems: list[str] | None = None,
    seed: int = 42,
    scale: int = 1,
    state_dir: Path | None = None,
    ports: dict[str, int] | None = None,
    faults: str | None = None,
    state_file: Path | None = None,
    vendor_limits: bool = True,
    history_months: int = 0,
) -> RunningSandboxes:
    """Start the named sandboxes (default: all) on loopback over HTTPS with a fresh local CA.

    `faults` names a profile of sandboxes/faults.py, applied to every sandbox with the same seed.
    `state_file`, when it exists, restores the state a previous `save_state` wrote (state persists
    only when asked). `vendor_limits` turns on the vendors' own rate limits and token expiry where
    a sandbox makes them optional; tests that are not about limits switch them off to run fast.
    `history_months` gives the Stripe subscriptions their renewal invoices and payments of that many
    months before the clock (0, the default: only the seeded invoices).
    """
    profile_named(faults)  # an unknown profile fails before anything starts
    chosen = list(SANDBOX_CLASSES) if systems is None else systems
    unknown = sorted(set(chosen) - set(SANDBOX_CLASSES))
    if unknown:
        raise ValueError(f"unknown sandbox(es) {unknown}; choose from {sorted(SANDBOX_CLASSES)}")
    directory = state_dir or Path(tempfile.mkdtemp(prefix="concord-sandbox-"))
    tls = create_local_ca(directory)
    running = RunningSandboxes(seed=build_seed(seed, scale), tls=tls)
    for system in chosen:
        port = (ports or {}).get(system, 0)
        options = _realism(system, vendor_limits)
        if system == "stripe" and history_months:
            options["history_months"] = history_months
        sandbox = SANDBOX_CLASSES[system](running.seed, tls=tls, port=port, **options)
        sandbox.inject_faults(faults, seed)
        running.servers[system] = sandbox.start()
        log.info("started the %s sandbox at %s", system, running.servers[system].base_url)
    if state_file is not None and state_file.exists():
        saved = json.loads(state_file.read_text(encoding="utf-8"))
        for system, snapshot in saved.get("systems", {}).items():
            if system in running.servers:
                running.servers[system].restore(snapshot)
        log.info("restored the sandboxes' state from %s", state_file)
    return running


def _realism(system: str, vendor_limits: bool) -> dict:
    """Constructor flags that make a sandbox as strict as its vendor (QuickBooks: throttling, expiring token)."""
    if system == "quickbooks" and vendor_limits:
        return {"throttle": Throttle(), "expire_initial_token": True}
    if system == "stripe" and not vendor_limits:
        return {"rate_limit_per_second": None}
    return {}
