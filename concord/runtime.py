"""Prepare the process environment for a Concord command.

Settings come from the environment and .env. A system without credentials is served by its
embedded sandbox, started here and announced on the console; the sandboxes' export lines are put
into this process's environment, so Dagster resources (EnvVar) and child processes see them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from concord.settings import (
    STATE_DIR,
    ensure_optional_variables,
    load_environment,
    partially_configured,
    unconfigured_systems,
)
from sandboxes.internal_sample import build_internal_sample, sample_url
from sandboxes.runner import RunningSandboxes, start_sandboxes
from sandboxes.seed import build_seed

log = logging.getLogger("concord")

REPO_ROOT = Path(__file__).resolve().parents[1]


class ConfigurationError(SystemExit):
    pass


@dataclass
class Runtime:
    sandboxes: RunningSandboxes | None
    database_url: str
    sandboxed: list[str]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def _internal_sample(seed: int | None) -> str:
    """The embedded internal database, rebuilt from the seed each time (as the sandboxes are)."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    url = sample_url(STATE_DIR)
    sample_seed = seed if seed is not None else int(os.environ.get("CONCORD_SANDBOX_SEED", "42"))
    counts = build_internal_sample(url, build_seed(sample_seed))
    say(f"concord: no CONCORD_INTERNAL_DB_URL: using the embedded internal sample ({counts['customers']} customers, "
        f"{counts['usage_events']} usage events) at {url}")
    return url


@contextmanager
def concord_environment(fresh_hub_name: str | None = None, seed: int | None = None) -> Iterator[Runtime]:
    """Everything a command needs: sandboxes for unconfigured systems, a hub URL, DAGSTER_HOME.

    `fresh_hub_name` gives the command a hub database of its own, emptied first (the demo, and any
    command on embedded sandboxes, whose state lives only as long as this process).
    """
    load_environment()
    partial = partially_configured()
    if partial:
        details = "; ".join(f"{s.system} lacks {', '.join(s.missing)}" for s in partial)
        raise ConfigurationError(f"incomplete credentials: {details}. Set all of them, or none to use the sandbox.")
    missing = unconfigured_systems()
    sandboxes = None
    if missing:
        sandbox_seed = seed if seed is not None else int(os.environ.get("CONCORD_SANDBOX_SEED", "42"))
        sandboxes = start_sandboxes(missing, seed=sandbox_seed, state_dir=STATE_DIR / "sandbox")
        os.environ.update(sandboxes.environment())
        for system in missing:
            message = f"no credentials for {system}: started its embedded sandbox at {sandboxes.base_url(system)}"
            log.info(message)
            say(f"concord: {message}")
    if not os.environ.get("CONCORD_INTERNAL_DB_URL"):
        os.environ["CONCORD_INTERNAL_DB_URL"] = _internal_sample(seed)
    if fresh_hub_name is None and missing and not os.environ.get("CONCORD_DATABASE_URL"):
        # Embedded sandboxes start from their seed every time; a persistent hub would remember
        # writes the new sandbox never saw. Use `concord sandbox up` for state that persists.
        fresh_hub_name = "embedded-hub"
    if fresh_hub_name is not None:
        hub_path = STATE_DIR / f"{fresh_hub_name}.db"
        hub_path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{hub_path}{suffix}").unlink(missing_ok=True)
        os.environ["CONCORD_DATABASE_URL"] = _sqlite_url(hub_path)
        say(f"concord: hub database {hub_path} (fresh for this run)")
    elif not os.environ.get("CONCORD_DATABASE_URL"):
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        os.environ["CONCORD_DATABASE_URL"] = _sqlite_url(STATE_DIR / "hub.db")
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / "dagster_home"))
    ensure_optional_variables()
    try:
        yield Runtime(sandboxes=sandboxes, database_url=os.environ["CONCORD_DATABASE_URL"], sandboxed=missing)
    finally:
        if sandboxes is not None:
            sandboxes.stop()
