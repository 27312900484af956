"""Shared fixtures: the hub database on SQLite and on PostgreSQL, one local CA per session, and the QuickBooks
and Salesforce sandboxes per test module.

Every test that takes `db_url` runs twice, once per backend. PostgreSQL is the one at
127.0.0.1:5432 (database `test`) unless CONCORD_TEST_POSTGRES_URL says otherwise; each test gets a
schema of its own so tests never see each other's rows. Under CI=true a missing server fails the
run; elsewhere those tests skip with one line saying how to enable them.
"""

from __future__ import annotations

import os
import ssl
import uuid

import httpx
import pytest
import sqlalchemy as sa

from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.salesforce import SalesforceSandbox
from sandboxes.seed import build_seed
from sandboxes.stripe import StripeSandbox
from sandboxes.tls import create_local_ca

DEFAULT_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> str:
    return os.environ.get("CONCORD_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _postgres_available(url: str) -> str | None:
    """None when reachable, else the reason."""
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server" here
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = postgres_base_url()
    problem = _postgres_available(url)
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but {url} is unreachable ({problem})")
        pytest.skip(
            "PostgreSQL not reachable at 127.0.0.1:5432; start it "
            "(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) "
            "or set CONCORD_TEST_POSTGRES_URL"
        )
    return url


def _fresh_postgres_schema(base_url: str):
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return admin, schema, url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A URL of an empty hub database; the test runs once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    admin, schema, url = _fresh_postgres_schema(base)
    yield url
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def tls(tmp_path_factory):
    """One local CA (and bundle: system roots plus the CA) for every sandbox a test session starts."""
    return create_local_ca(tmp_path_factory.mktemp("ca"))


# The QuickBooks and Salesforce sandboxes, started once per test module on that CA; the connector and sandbox
# tests build their clients on them (tests/connectors/conftest.py, tests/sandboxes/conftest.py). A module that
# needs other books overrides `seed`, or the sandbox fixture itself (say, for expiring tokens).


@pytest.fixture(scope="module")
def seed():
    return build_seed()


@pytest.fixture(scope="module")
def qb_sandbox(seed, tls):
    server = QuickBooksSandbox(seed, tls=tls).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sf_sandbox(seed, tls):
    server = SalesforceSandbox(seed, tls=tls).start()
    server.bundle = str(tls.bundle_path)  # what the Salesforce clients trust
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stripe_sandbox(seed, tls):
    server = StripeSandbox(seed, tls=tls).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stripe_control(stripe_sandbox, tls):
    """A client of the Stripe sandbox's control API (and of its vendor paths, unauthenticated)."""
    with httpx.Client(base_url=stripe_sandbox.base_url,
                      verify=ssl.create_default_context(cafile=str(tls.bundle_path))) as client:
        yield client
