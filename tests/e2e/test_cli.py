"""The `concord` command as an operator runs it: a separate process, configured by environment only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import control

REPO = Path(__file__).resolve().parents[2]
CONCORD = [sys.executable, "-m", "concord.cli"]


def _run(args, env, cwd, timeout=180):
    return subprocess.run(CONCORD + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli_env(concord_env, tmp_path):
    env = {k: v for k, v in os.environ.items()}
    env.update(concord_env)
    env["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    (tmp_path / "dagster_home").mkdir()
    return env


def _writes(sandboxes) -> int:
    return sum(1 for r in control(sandboxes, "quickbooks", "/_sandbox/requests")
               if r["method"] == "POST" and not r["path"].endswith("/query"))


def test_second_concord_sync_writes_nothing(cli_env, sandboxes, tmp_path):
    """Input: `concord sync` twice against the same running sandboxes and hub database."""
    first = _run(["sync"], cli_env, tmp_path)
    assert first.returncode == 0, first.stderr
    writes = _writes(sandboxes)
    assert writes > 0
    second = _run(["sync"], cli_env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert _writes(sandboxes) == writes
    assert "writes this run: none;" in second.stderr  # no system got a write
    assert "quickbooks " in first.stderr.split("writes this run: ")[1].split(";")[0]
    assert "started its embedded sandbox" not in first.stderr  # credentials were given: no sandbox


def test_concord_reconcile_json_lists_each_mismatch(cli_env, sandboxes, tmp_path):
    """Input: after a sync, one QuickBooks invoice deleted over the API; `concord reconcile --json`."""
    assert _run(["sync"], cli_env, tmp_path).returncode == 0
    from connectors.quickbooks import QuickBooksConnector

    qb = QuickBooksConnector(cli_env["QUICKBOOKS_BASE_URL"], cli_env["QUICKBOOKS_REALM_ID"],
                             cli_env["QUICKBOOKS_ACCESS_TOKEN"], cli_env["CONCORD_CA_BUNDLE"])
    victim = next(iter(qb.iter_invoices()))
    qb.delete_invoice(victim["Id"], victim["SyncToken"], request_id="test-cli-delete")
    result = _run(["reconcile", "--json"], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    mismatches = json.loads(result.stdout)
    assert len(mismatches) == 1
    (only,) = mismatches
    assert only["kind"] == "missing_in_quickbooks"
    assert only["entity"] == "invoice"
    assert only["ids"]["quickbooks"] == victim["Id"]
    assert only["ids"]["stripe"] == victim["PrivateNote"].removeprefix("stripe:")
    assert {"field", "master_value", "copy_value"} <= set(only)


def test_partial_credentials_are_an_error_not_a_silent_sandbox(tmp_path):
    """Input: QUICKBOOKS_BASE_URL set without realm or token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "QUICKBOOKS_", "SALESFORCE_"))}
    env["QUICKBOOKS_BASE_URL"] = "https://quickbooks.api.intuit.com"
    result = _run(["sync"], env, tmp_path, timeout=60)
    assert result.returncode == 2
    assert "QUICKBOOKS_REALM_ID" in result.stderr and "QUICKBOOKS_ACCESS_TOKEN" in result.stderr


def test_concord_demo_finds_exactly_the_planted_drift(tmp_path):
    """Input: `concord demo` with no credentials at all (embedded sandboxes, SQLite), as `make demo` runs it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STRIPE_", "QUICKBOOKS_", "SALESFORCE_", "CONCORD_"))}
    env["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    (tmp_path / "dagster_home").mkdir()
    result = _run(["demo"], env, tmp_path, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo passed" in result.stderr
    assert "started its embedded sandbox" in result.stderr
    report = result.stdout
    for kind in ("amount", "missing_in_quickbooks", "extra_in_quickbooks"):
        assert kind in report
    assert "3 mismatch" in report
