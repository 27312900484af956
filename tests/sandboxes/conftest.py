"""Fixtures the sandbox tests share, on the sandboxes tests/conftest.py starts per module (`qb_sandbox`,
`sf_sandbox`): HTTPS clients of them, reset to the seed before each test. A module that overrides `seed` or a
sandbox fixture (another seed, a webhook window) gets these on it."""

from __future__ import annotations

import httpx
import pytest

from tests.sandboxes.quickbooks_clients import Api
from tests.sandboxes.salesforce_clients import sdk, session_trusting


@pytest.fixture(scope="module")
def qb_http(qb_sandbox, tls):
    """HTTPS to the QuickBooks sandbox, trusting its CA: control API calls and raw vendor calls."""
    with httpx.Client(base_url=qb_sandbox.base_url, verify=str(tls.bundle_path), timeout=10) as client:
        yield client


@pytest.fixture
def qb_reset(qb_http):
    """The QuickBooks sandbox back at its seed (company, tokens, clock, request log)."""
    qb_http.post("/_sandbox/reset").raise_for_status()


@pytest.fixture
def qb_api(qb_http, qb_sandbox, qb_reset) -> Api:
    return Api(qb_http, qb_sandbox)


@pytest.fixture
def sf_http(sf_sandbox):
    """A session trusting the Salesforce sandbox CA, against an org reset to the seed (limits and clock too)."""
    session = session_trusting(sf_sandbox.bundle)
    session.post(sf_sandbox.base_url + "/_sandbox/reset", timeout=10).raise_for_status()
    return session


@pytest.fixture
def sf(sf_sandbox, sf_http):
    """simple-salesforce on the sandbox's token, over `sf_http`."""
    return sdk(sf_sandbox.base_url, sf_sandbox.access_token, sf_http)
