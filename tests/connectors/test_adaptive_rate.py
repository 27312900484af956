"""The adaptive pace under a vendor's ceiling: AIMD arithmetic (pure) and its sharing between processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from connectors.adaptive_rate import Aimd, SharedPace

AIMD = Aimd.for_ceiling(25.0)  # Stripe's test-mode limit


def test_a_429_halves_the_rate_once_per_hold_and_never_below_the_floor():
    """Input: at 25/s, eight 429s within 0.1 s (concurrent windows meeting one overload), then one every 1.5 s."""
    pace = AIMD.start()
    for n in range(8):
        pace = AIMD.throttled(pace, now=10.0 + n / 80)
    assert pace.rate == 12.5 and pace.cuts == 1
    for n in range(1, 12):
        pace = AIMD.throttled(pace, now=10.0 + 1.5 * n)
    assert pace.rate == AIMD.floor == 1.0 and pace.lowest == 1.0


def test_successes_recover_the_rate_gradually_up_to_the_ceiling_and_no_further():
    """Input: cut twice to 6.25/s, then successes -> +5/s each (a fifth of the ceiling): 4 to reach 25, no further."""
    pace = AIMD.throttled(AIMD.throttled(AIMD.start(), now=0.0), now=1.0)
    rates = []
    for _ in range(6):
        pace = AIMD.succeeded(pace)
        rates.append(pace.rate)
    assert rates == [11.25, 16.25, 21.25, 25.0, 25.0, 25.0]


def test_reserve_spaces_sends_at_the_lowered_rate():
    """Input: at the ceiling (no spacing: the vendor's bucket paces); then a bare 429 at t=100 and three sends
    asked for at once -> 1/12.5 s apart."""
    pace, wait = AIMD.reserve(AIMD.start(), now=100.0)
    assert wait == 0.0
    pace = AIMD.throttled(pace, now=100.0)
    waits = []
    for _ in range(3):
        pace, wait = AIMD.reserve(pace, now=100.0)
        waits.append(round(wait, 6))
    assert waits == [0.0, 0.08, 0.16]


def test_a_retry_after_pauses_the_whole_account_exactly_and_cuts_nothing():
    """Input: a 429 with Retry-After 2 at t=100; three threads ask to send at t=100.5 -> the first goes at
    t=102 exactly, the others after it at the unchanged 25/s (no burst on the pause's end); rate not cut."""
    pace = AIMD.throttled(AIMD.start(), now=100.0, retry_after=2.0)
    assert (pace.rate, pace.cuts, pace.pauses) == (25.0, 0, 1)
    waits = []
    for _ in range(3):
        pace, wait = AIMD.reserve(pace, now=100.5)
        waits.append(round(wait, 6))
    assert waits == [1.5, 1.54, 1.58]
    assert AIMD.reserve(pace, now=102.2)[1] == 0.0  # paused no more, at the ceiling: the bucket alone paces


def test_an_unreasonable_retry_after_is_capped():
    pace = AIMD.throttled(AIMD.start(), now=0.0, retry_after=86_400)
    assert AIMD.reserve(pace, now=0.0)[1] == 120.0


def _throttle_once(path: str) -> None:
    SharedPace(AIMD, Path(path)).throttled(retry_after=None)


def test_processes_of_a_run_share_one_pace_through_its_file(tmp_path: Path):
    """Input: another process meets a 429 on the account; this process's pace over the same file is lowered."""
    path = tmp_path / "stripe-test-account.pace"
    mine = SharedPace(AIMD, path)
    assert mine.report()["rate"] == 25.0
    worker = multiprocessing.get_context("spawn").Process(target=_throttle_once, args=(str(path),))
    worker.start()
    worker.join(60)
    assert worker.exitcode == 0
    assert mine.report() == {"rate": 12.5, "ceiling": 25.0, "lowest_rate": 12.5, "cuts": 1, "pauses": 0}
    mine.succeeded()
    assert SharedPace(AIMD, path).report()["rate"] == 17.5


def test_a_retry_after_that_arrives_while_a_thread_waits_its_turn_holds_it_too():
    """Input: a paced account (12.5/s); while a thread sleeps 0.08 s for its turn, another thread's 429 asks
    for 2 s -> the sleeper waits until the pause ends (2 s in all) before it sends."""
    clock = [0.0]
    shared = SharedPace(AIMD, clock=lambda: clock[0])
    shared.throttled(None)
    assert shared.wait_turn(sleep=lambda s: None) == 0.0
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        if not slept:
            shared.throttled(2.0)
        slept.append(round(seconds, 6))
        clock[0] += seconds

    assert shared.wait_turn(sleep=sleep) == 2.0
    assert slept == [0.08, 1.92]
