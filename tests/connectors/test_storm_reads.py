"""Reads through the sandboxes' 429 storms (real SDKs, real HTTP): every record, no failure, the account paused
by Retry-After or its pace cut by bare 429s, and Stripe's own limit never exceeded (the sandbox enforces 25/s)."""

from __future__ import annotations

from pathlib import Path

import httpx
from pyrate_limiter import Duration, Rate

from connectors.rate_limit import account_key, limiter_for, stripe_rates_name
from connectors.stripe import StripeConnector
from sandboxes.faults import FaultProfile
from sandboxes.runner import start_sandboxes
from tests.connectors.sandbox_clients import quickbooks_connector

TEST_MODE = [Rate(25, Duration.SECOND)]
# Storms far denser than the `storm` profile's, so a read of a few seconds meets several of them.
HINTED = FaultProfile("test-storm-hinted", "storms with Retry-After", storm_gap_s=0.4, storm_s=0.8, storm_rate=3,
                      retry_after=True)
BARE = FaultProfile("test-storm-bare", "storms without Retry-After, as Stripe answers", storm_gap_s=0.4,
                    storm_s=0.8, storm_rate=3)


def _read_through(tmp_path: Path, profile: FaultProfile, windows: bool) -> dict:
    with start_sandboxes(["stripe"], scale=40, state_dir=tmp_path / "sandbox", vendor_limits=True) as sandboxes:
        env = sandboxes.environment()
        key = env["STRIPE_API_KEY"]
        calm = StripeConnector(key, env["STRIPE_API_BASE"], env["CONCORD_CA_BUNDLE"])
        expected = sorted(customer["id"] for customer in calm.iter_customers())
        stripe = sandboxes.servers["stripe"]
        stripe.rate_limiter.configure(stripe.rate_limiter.per_second)  # full buckets: the calm read is not counted
        with httpx.Client(base_url=env["STRIPE_API_BASE"], verify=env["CONCORD_CA_BUNDLE"]) as control:
            logged_before = len(control.get("/_sandbox/requests").json())
        injector = stripe.inject_faults(profile, seed=5)
        # The pace lives in files under tmp_path: this test's account starts at full speed, whatever ran before.
        stormy = StripeConnector(key, env["STRIPE_API_BASE"], env["CONCORD_CA_BUNDLE"], rate_limits=TEST_MODE,
                                 rate_limit_dir=str(tmp_path / "pace"))
        if windows:
            read = [c["id"] for c in stormy.list_customers_in_windows(window_count=16, workers=8, page_size=10)]
        else:
            read = [c["id"] for c in stormy.iter_customers(page_size=10)]
        storm_429s = injector.injected.get("rate_limit", 0)
        stripe.inject_faults(None, seed=0)
        with httpx.Client(base_url=env["STRIPE_API_BASE"], verify=env["CONCORD_CA_BUNDLE"]) as control:
            logged = control.get("/_sandbox/requests").json()[logged_before:]
        over_limit = [entry for entry in logged if entry.get("rate_limited")]
    pace = limiter_for(stripe_rates_name(key), account_key("stripe", key), str(tmp_path / "pace"), TEST_MODE)
    return {"expected": expected, "read": read, "storm_429s": storm_429s, "over_limit": over_limit,
            "stats": stormy.response_stats.as_metadata(), "pace": pace.pace.report()}


def _assert_read_whole(outcome: dict) -> None:
    assert len(outcome["read"]) == len(set(outcome["read"])) == 480
    assert sorted(outcome["read"]) == outcome["expected"]
    assert outcome["storm_429s"] >= 1 and outcome["stats"]["http_throttled"] == outcome["storm_429s"]
    assert outcome["over_limit"] == []  # Stripe's own 25/s limiter never refused the client


def test_concurrent_windows_read_everything_through_storms_with_retry_after(tmp_path):
    """Input: 480 customers read by 8 threads over 16 `created` windows, pages of 10, while storms of 0.8 s
    (3 requests a second get through, the rest 429 with Retry-After) come every ~0.4 s."""
    outcome = _read_through(tmp_path, HINTED, windows=True)
    _assert_read_whole(outcome)
    # Each Retry-After paused the whole account (the other windows too), and was all it did: no rate cut.
    assert outcome["pace"]["pauses"] >= 1 and outcome["pace"]["cuts"] == 0


def test_the_sequential_pager_reads_everything_through_storms_without_retry_after(tmp_path):
    """Input: 480 customers paged 10 at a time through the same storms, with bare 429s (no Retry-After)."""
    outcome = _read_through(tmp_path, BARE, windows=False)
    _assert_read_whole(outcome)
    assert outcome["pace"]["cuts"] >= 1 and outcome["pace"]["lowest_rate"] <= 12.5  # bare 429s cut the pace
    assert outcome["pace"]["pauses"] == 0


QUICKBOOKS_RATES = [Rate(10, Duration.SECOND), Rate(500, Duration.MINUTE)]


def test_quickbooks_outlasts_xml_429s_beyond_the_attempts_a_failure_gets_and_slows_the_realm(qb, qb_sandbox, tls,
                                                                                          qb_control, tmp_path):
    """Input: six 429s in a row, in the XML body QuickBooks throttles with (which the SDK reports as an unreadable
    JSON answer, code 10000), before one read by a connector allowed 4 attempts for failures -> the read
    succeeds on the throttling budget, the six 429s are counted and the realm's pace was cut."""
    connector = quickbooks_connector(qb_sandbox, tls, max_attempts=4,
                                     rate_limits=QUICKBOOKS_RATES, rate_limit_dir=str(tmp_path))
    qb_control.post("/_sandbox/faults", json={"status": 429, "times": 6}).raise_for_status()
    assert connector.service_item_ref()["name"] == "Services"
    assert connector.response_stats.as_metadata()["http_throttled"] == 6
    creds = qb_sandbox.credentials()
    account = account_key("quickbooks", creds["QUICKBOOKS_BASE_URL"], creds["QUICKBOOKS_REALM_ID"])
    pace = limiter_for("quickbooks", account, str(tmp_path), QUICKBOOKS_RATES).pace.report()
    assert pace["cuts"] >= 1 and pace["lowest_rate"] <= pace["ceiling"] / 2
