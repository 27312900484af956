"""Fixtures the connector tests share: each vendor's sandbox, started once per test module on the session's
local CA, its control API, and the connector under test on an account reset to the seed before each test.

A module that needs another sandbox (say, with expiring tokens) defines its own `qb_sandbox` or `sf_sandbox`;
the other fixtures here then use that one."""

from __future__ import annotations

import httpx
import pytest

from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.salesforce import SalesforceSandbox
from sandboxes.seed import build_seed
from tests.connectors.sandbox_clients import SalesforceControl, quickbooks_connector


@pytest.fixture(scope="module")
def seed():
    return build_seed()


@pytest.fixture(scope="module")
def qb_sandbox(tls):
    server = QuickBooksSandbox(build_seed(), tls=tls).start()
    yield server
    server.stop()


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


@pytest.fixture(scope="module")
def sf_sandbox(seed, tls):
    server = SalesforceSandbox(seed, tls=tls).start()
    server.bundle = str(tls.bundle_path)
    yield server
    server.stop()


@pytest.fixture
def sf_control(sf_sandbox) -> SalesforceControl:
    """The Salesforce sandbox's control API, the org reset to the seed before each test."""
    return SalesforceControl(sf_sandbox).reset()
