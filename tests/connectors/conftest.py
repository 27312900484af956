"""Fixtures the connector tests share, on the sandboxes tests/conftest.py starts per module (`qb_sandbox`,
`sf_sandbox`): each sandbox's control API, and the connector under test on an account reset to the seed before
each test. A module that overrides `qb_sandbox` or `sf_sandbox` (say, for expiring tokens) gets these on it."""

from __future__ import annotations

import httpx
import pytest

from tests.connectors.sandbox_clients import SalesforceControl, quickbooks_connector


@pytest.fixture(scope="module")
def qb_control(qb_sandbox, tls):
    """HTTPS to the QuickBooks sandbox: its /_sandbox/ control API (reset, clock, request log) and raw calls."""
    with httpx.Client(base_url=qb_sandbox.base_url, verify=str(tls.bundle_path), timeout=10) as client:
        yield client


@pytest.fixture
def qb(qb_sandbox, qb_control, tls):
    """The QuickBooks connector on a sandbox reset to its seed, with no faults injected."""
    qb_sandbox.inject_faults(None, 0)
    qb_control.post("/_sandbox/reset").raise_for_status()
    return quickbooks_connector(qb_sandbox, tls)


@pytest.fixture
def sf_control(sf_sandbox) -> SalesforceControl:
    """The Salesforce sandbox's control API, the org reset to the seed before each test."""
    return SalesforceControl(sf_sandbox).reset()
