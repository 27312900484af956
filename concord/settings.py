"""Settings from the environment (and an optional .env file), never from code.

Each vendor is "configured" when its credentials are present; a system that is not configured is
served by its embedded sandbox, and the command that started it says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

# The variables each system needs; all present means "talk to this endpoint", none means "sandbox".
SYSTEM_VARIABLES: dict[str, tuple[str, ...]] = {
    "stripe": ("STRIPE_API_KEY",),
    "salesforce": ("SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN"),
    "quickbooks": ("QUICKBOOKS_BASE_URL", "QUICKBOOKS_REALM_ID", "QUICKBOOKS_ACCESS_TOKEN"),
}

# Optional variables the Dagster resources read through EnvVar; they must exist (possibly empty)
# so that resource initialisation does not fail on an unset variable.
OPTIONAL_VARIABLES = (
    "STRIPE_API_BASE",
    "CONCORD_CA_BUNDLE",
    "CONCORD_ALERT_SMTP_URL",
    "CONCORD_ALERT_WEBHOOK_URL",
    "CONCORD_STRIPE_RATE_LIMIT",
    "CONCORD_QUICKBOOKS_RATE_LIMIT",
    "QUICKBOOKS_CLIENT_ID",
    "QUICKBOOKS_CLIENT_SECRET",
    "QUICKBOOKS_REFRESH_TOKEN",
    "QUICKBOOKS_TOKEN_URL",
    "CONCORD_INTERNAL_TABLES",
)

STATE_DIR = Path(".concord")


def load_environment(dotenv_path: str | os.PathLike | None = None) -> None:
    """Read .env (if any) without overriding variables already set in the process."""
    load_dotenv(dotenv_path or Path.cwd() / ".env", override=False)


def default_database_url() -> str:
    return os.environ.get("CONCORD_DATABASE_URL") or f"sqlite:///{(Path.cwd() / STATE_DIR / 'hub.db')}"


@dataclass(frozen=True)
class SystemStatus:
    system: str
    configured: bool
    missing: tuple[str, ...]


def system_status(environ: os._Environ | dict | None = None) -> list[SystemStatus]:
    env = os.environ if environ is None else environ
    statuses = []
    for system, names in SYSTEM_VARIABLES.items():
        missing = tuple(name for name in names if not env.get(name))
        statuses.append(SystemStatus(system, configured=not missing, missing=missing))
    return statuses


def unconfigured_systems(environ: os._Environ | dict | None = None) -> list[str]:
    """Systems with no credentials at all: these get an embedded sandbox."""
    env = os.environ if environ is None else environ
    return [
        status.system
        for status in system_status(env)
        if len(status.missing) == len(SYSTEM_VARIABLES[status.system])
    ]


def partially_configured(environ: os._Environ | dict | None = None) -> list[SystemStatus]:
    """Systems with some but not all variables: an error, never a silent sandbox."""
    env = os.environ if environ is None else environ
    return [
        status
        for status in system_status(env)
        if status.missing and len(status.missing) < len(SYSTEM_VARIABLES[status.system])
    ]


def ensure_optional_variables() -> None:
    for name in OPTIONAL_VARIABLES:
        os.environ.setdefault(name, "")
    # Rate-limit buckets are files so that Dagster steps in separate processes share them.
    os.environ.setdefault("CONCORD_RATE_LIMIT_DIR", str((STATE_DIR / "ratelimits").resolve()))
