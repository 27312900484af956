"""`concord ui` as an ops engineer uses it: the Dagster UI with sandboxes, and a run launched from it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

LAUNCH = """mutation { launchRun(executionParams: {selector: {repositoryLocationName: "assets.definitions",
  repositoryName: "__repository__", jobName: "concord_sync"}}) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _graphql(base: str, query: str, variables: dict | None = None) -> dict:
    response = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
    response.raise_for_status()
    return response.json()["data"]


def test_a_sync_launched_from_the_ui_succeeds_against_the_embedded_sandboxes(tmp_path):
    """Input: `concord ui` with no credentials, from another working directory; launch concord_sync over
    the UI's GraphQL API, as the Launch button does, and wait for the run (a separate process) to finish."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STRIPE_", "QUICKBOOKS_", "SALESFORCE_", "CONCORD_"))}
    env["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    (tmp_path / "dagster_home").mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "concord.cli", "ui", "--port", str(port)], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        else:
            raise AssertionError("the UI did not come up in 120 s")
        launched = _graphql(base, LAUNCH)["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        status = None
        while time.monotonic() < deadline + 120:
            status = _graphql(base, STATUS, {"id": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(1)
        assert status == "SUCCESS"
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
