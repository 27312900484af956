"""The adaptive limit of requests in flight (connectors.concurrency), fed simulated servers.

Inputs tried: a vendor whose latency does not depend on load (150 ms whatever the number in flight), a
server that answers one request at a time in arrival order (each request waits for those ahead of it),
a vendor that becomes ten times slower for good, and nonsense latencies (negative, NaN).
"""

import math

import pytest

from connectors.concurrency import STALE_ANSWERS, AdaptiveConcurrency


def _distant_vendor(controller: AdaptiveConcurrency, seconds: float, answers: int) -> list[int]:
    limits = []
    for _ in range(answers):
        controller.observe(seconds)
        limits.append(controller.limit)
    return limits


def _one_at_a_time(controller: AdaptiveConcurrency, service: float, answers: int) -> list[int]:
    """A server with one worker: requests are served in arrival order, each taking `service` seconds."""
    clock = free_at = 0.0
    in_flight: list[tuple[float, float]] = []  # (finish, start)
    limits = []
    for _ in range(answers):
        while len(in_flight) < controller.limit:
            free_at = max(free_at, clock) + service
            in_flight.append((free_at, clock))
        in_flight.sort()
        finish, start = in_flight.pop(0)
        clock = finish
        controller.observe(finish - start)
        limits.append(controller.limit)
    return limits


def test_a_distant_vendor_gets_every_worker():
    controller = AdaptiveConcurrency(initial=2, maximum=32)
    limits = _distant_vendor(controller, 0.150, 300)
    assert limits[-1] == 32
    # Quickly: a first sync of 120 pages (12,000 customers) must not spend itself ramping up.
    assert limits.index(32) < 40
    assert limits == sorted(limits)  # it only ever grew
    assert controller.peak == 32


@pytest.mark.parametrize("initial", [1, 2, 8])
def test_a_server_answering_one_at_a_time_keeps_about_two_in_flight(initial):
    controller = AdaptiveConcurrency(initial=initial, maximum=32)
    limits = _one_at_a_time(controller, 0.004, 1000)
    assert 1 <= min(limits[200:]) and max(limits[200:]) <= 3


def test_a_vendor_slower_for_good_gets_its_limit_back():
    controller = AdaptiveConcurrency(initial=8, maximum=8)
    _distant_vendor(controller, 0.150, 50)
    assert controller.limit == 8
    _distant_vendor(controller, 1.5, STALE_ANSWERS - 5)  # ten times slower: as if queued somewhere
    assert controller.limit <= 3
    # It stays that slow whatever the number in flight: the slow latency becomes the baseline.
    _distant_vendor(controller, 1.5, 200)
    assert controller.limit == 8


def test_bounds_hold_and_nonsense_latencies_are_ignored():
    controller = AdaptiveConcurrency(initial=50, minimum=2, maximum=4)
    assert controller.limit == 4
    controller.observe(-1.0)
    controller.observe(math.nan)
    assert controller.limit == 4
    _one_at_a_time(controller, 0.010, 200)
    assert 2 <= controller.limit <= 4
    with pytest.raises(ValueError):
        AdaptiveConcurrency(minimum=0)
    with pytest.raises(ValueError):
        AdaptiveConcurrency(minimum=5, maximum=4)
