"""The shared retry policy (pure) and the connectors under the sandboxes' fault profiles (real SDKs)."""

from __future__ import annotations

import logging
import random

import pytest
import requests

from connectors.retry import call_with_retries, is_transport_error, retry_after_seconds, retry_wait
from sandboxes.faults import FaultProfile


class _Flaky:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def test_retryable_errors_are_retried_until_success():
    """Input: a dropped connection, then a truncated body, then success."""
    operation = _Flaky([requests.ConnectionError("reset"), requests.exceptions.ChunkedEncodingError("cut")])
    assert call_with_retries(operation, is_transport_error, attempts=3, initial_wait=0.001) == "ok"
    assert operation.calls == 3


def test_non_retryable_error_is_raised_at_once():
    """Input: a validation-style error the policy does not accept."""
    operation = _Flaky([ValueError("bad request")])
    with pytest.raises(ValueError):
        call_with_retries(operation, is_transport_error, attempts=5, initial_wait=0.001)
    assert operation.calls == 1


def test_gives_up_after_the_last_attempt_with_the_vendor_error():
    """Input: four dropped connections, three attempts allowed."""
    operation = _Flaky([requests.ConnectionError(str(n)) for n in range(4)])
    with pytest.raises(requests.ConnectionError, match="2"):
        call_with_retries(operation, is_transport_error, attempts=3, initial_wait=0.001)
    assert operation.calls == 3


class _Throttled(Exception):
    pass


def test_throttling_has_its_own_budget_beyond_the_attempts_a_failure_gets():
    """Input: six 429-style errors in a row (a storm) with three attempts allowed for failures and ten for
    throttling -> success on the seventh call; the same six as dropped connections -> given up after three."""
    either = lambda error: isinstance(error, _Throttled | requests.ConnectionError)  # noqa: E731
    storm = _Flaky([_Throttled(str(n)) for n in range(6)])
    assert call_with_retries(storm, either, attempts=3, initial_wait=0.001, max_wait=0.002,
                             throttled=lambda error: isinstance(error, _Throttled), throttle_attempts=10) == "ok"
    assert storm.calls == 7
    outage = _Flaky([requests.ConnectionError(str(n)) for n in range(6)])
    with pytest.raises(requests.ConnectionError):
        call_with_retries(outage, either, attempts=3, initial_wait=0.001, max_wait=0.002,
                          throttled=lambda error: isinstance(error, _Throttled), throttle_attempts=10)
    assert outage.calls == 3
    endless = _Flaky([_Throttled(str(n)) for n in range(20)])
    with pytest.raises(_Throttled):
        call_with_retries(endless, either, attempts=3, initial_wait=0.001, max_wait=0.002,
                          throttled=lambda error: isinstance(error, _Throttled), throttle_attempts=10)
    assert endless.calls == 10


def test_retry_after_header_is_honoured():
    assert retry_after_seconds({"Retry-After": "7"}) == 7.0
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None
    assert retry_after_seconds({}) is None


def test_a_server_given_wait_is_waited_exactly_with_nothing_added():
    """Input: Retry-After 3 on the first and the sixth retry, with a 1 s backoff cap -> 3 s each time."""
    assert retry_wait(1, 3.0, initial=0.25, maximum=1.0) == 3.0
    assert retry_wait(6, 3.0, initial=0.25, maximum=1.0) == 3.0
    assert retry_wait(2, 0.0, initial=0.25, maximum=1.0) == 0.0


def test_without_a_hint_waits_start_short_grow_exponentially_and_are_jittered():
    """Input: 200 draws per attempt, initial 0.25 s, cap 4 s -> attempt n waits within [c/2, c],
    c = min(4, 0.25 * 2**(n-1)); draws differ (callers spread out)."""
    rng = random.Random(1)
    for attempt in range(1, 9):
        ceiling = min(4.0, 0.25 * 2 ** (attempt - 1))
        draws = [retry_wait(attempt, None, initial=0.25, maximum=4.0, rng=rng) for _ in range(200)]
        assert ceiling / 2 <= min(draws) and max(draws) <= ceiling
        assert max(draws) - min(draws) > ceiling / 4
    assert max(retry_wait(1, None, initial=0.25, maximum=4.0, rng=rng) for _ in range(50)) <= 0.25


FLAKY = FaultProfile("test-flaky", "writes lose answers", server_error=0.2, drop_after_commit=0.25,
                     truncated_body=0.1)


def test_quickbooks_writes_under_faults_create_each_customer_exactly_once(tmp_path):
    """Input: 15 customer creates while 20% of requests get a 5xx, 25% of writes lose their answer
    after committing and 10% of bodies are truncated (seeded); each create keeps its requestid."""
    from connectors.quickbooks import QuickBooksConnector
    from sandboxes.runner import start_sandboxes

    # Vendor rate limits off: this test is about faults; throttling has tests of its own.
    with start_sandboxes(["quickbooks"], state_dir=tmp_path, vendor_limits=False) as sandboxes:
        env = sandboxes.environment()
        qb = QuickBooksConnector(env["QUICKBOOKS_BASE_URL"], env["QUICKBOOKS_REALM_ID"],
                                 env["QUICKBOOKS_ACCESS_TOKEN"], env["CONCORD_CA_BUNDLE"],
                                 max_attempts=8, retry_wait_seconds=0.01)
        injector = sandboxes.servers["quickbooks"].inject_faults(FLAKY, seed=11)
        ids = {qb.create_customer({"DisplayName": f"Fault test {n}"}, request_id=f"fault-test-{n}")["Id"]
               for n in range(15)}
        injected = dict(injector.injected)
        responses = qb.response_stats.as_metadata()
        sandboxes.servers["quickbooks"].inject_faults(None, seed=0)
        names = [customer["DisplayName"] for customer in qb.iter_customers()]
    assert len(ids) == 15
    assert sorted(names) == sorted(f"Fault test {n}" for n in range(15))
    assert injected.get("drop_after_commit", 0) > 0 and injected.get("server_error", 0) > 0
    # every fault the client met is counted, though each was recovered
    assert responses["http_non_success"] == sum(injected.values())


def test_stripe_writes_under_faults_create_each_customer_exactly_once(tmp_path):
    """Input: 15 Stripe customer creates, each with its Idempotency-Key, under the same faults;
    the SDK's own retries resend the same key."""
    from connectors.stripe import StripeConnector
    from sandboxes.runner import start_sandboxes

    with start_sandboxes(["stripe"], state_dir=tmp_path, vendor_limits=False) as sandboxes:
        env = sandboxes.environment()
        stripe_connector = StripeConnector(env["STRIPE_API_KEY"], env["STRIPE_API_BASE"], env["CONCORD_CA_BUNDLE"],
                                           max_network_retries=8)
        before = {customer["id"] for customer in stripe_connector.iter_customers()}
        injector = sandboxes.servers["stripe"].inject_faults(FLAKY, seed=5)
        created = {stripe_connector.create_customer({"name": f"Fault test {n}"}, idempotency_key=f"fault-{n}")["id"]
                   for n in range(15)}
        injected = dict(injector.injected)
        sandboxes.servers["stripe"].inject_faults(None, seed=0)
        after = [customer for customer in stripe_connector.iter_customers() if customer["id"] not in before]
    assert len(created) == 15
    assert sorted(customer["name"] for customer in after) == sorted(f"Fault test {n}" for n in range(15))
    assert injected.get("drop_after_commit", 0) > 0


DENSE_STORMS = FaultProfile("test-dense-storms", "storms of 0.5 s letting nothing through, every ~0.2 s",
                            storm_gap_s=0.2, storm_s=0.5)


def test_a_stripe_full_read_outlasts_a_429_storm_with_default_settings(tmp_path):
    """Input: storms of 0.5 s in which every request gets Stripe's bare 429 (no Retry-After), about every 0.2 s,
    on 120 customers read in pages of 10 with the connector's default retries and no rate limiter -> every
    customer, once, and the 429s counted."""
    from connectors.stripe import StripeConnector
    from sandboxes.runner import start_sandboxes

    with start_sandboxes(["stripe"], scale=10, state_dir=tmp_path, vendor_limits=False) as sandboxes:
        env = sandboxes.environment()
        connector = StripeConnector(env["STRIPE_API_KEY"], env["STRIPE_API_BASE"], env["CONCORD_CA_BUNDLE"])
        expected = sorted(customer["id"] for customer in connector.iter_customers())
        injector = sandboxes.servers["stripe"].inject_faults(DENSE_STORMS, seed=3)
        stormy = StripeConnector(env["STRIPE_API_KEY"], env["STRIPE_API_BASE"], env["CONCORD_CA_BUNDLE"])
        read = [customer["id"] for customer in stormy.iter_customers(page_size=10)]
        injected = injector.injected.get("rate_limit", 0)
    assert sorted(read) == expected and len(read) == 120
    assert injected >= 2 and stormy.response_stats.as_metadata()["http_throttled"] == injected


def test_each_retry_logs_one_line_and_says_when_it_was_throttling(caplog):
    """Input: a call throttled once with a message spanning lines (as QuickBooks quotes its XML body), then
    failing once with a plain error, then answering; expect two one-line warnings naming each kind."""
    answers = iter([RuntimeError('throttled:\n<IntuitResponse>\n  <Fault code="3001"/>\n</IntuitResponse>'),
                    ValueError("server error"), "ok"])

    def operation():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with caplog.at_level(logging.WARNING, logger="concord.connectors.retry"):
        assert call_with_retries(operation, lambda error: True, attempts=3, initial_wait=0.001, max_wait=0.002,
                                 what="QuickBooks query",
                                 throttled=lambda error: isinstance(error, RuntimeError)) == "ok"
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].startswith("QuickBooks query was throttled (attempt 1 of 20)")
    assert '<IntuitResponse> <Fault code="3001"/>' in lines[0]
    assert lines[1].startswith("QuickBooks query failed (attempt 2 of 3)")
