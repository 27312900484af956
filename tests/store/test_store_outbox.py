"""The outbox: one row per idempotency key, stored before the vendor call, retried until done."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from store.hub import Hub


def _enqueue(hub: Hub, key: str, payload: dict | None = None, canonical_key: str = "in_1"):
    return hub.enqueue("quickbooks", "invoice", "create", canonical_key, key, payload or {"TotalAmt": "12.34"})


def test_enqueue_twice_with_same_key_keeps_one_row(hub):
    """Input: the same key enqueued twice, the second time with a different payload."""
    first = _enqueue(hub, "qb:invoice:in_1:v1")
    second = _enqueue(hub, "qb:invoice:in_1:v1", {"TotalAmt": "99.99"})
    assert second == first
    assert first.status == "pending" and first.attempts == 0 and first.payload == {"TotalAmt": "12.34"}
    assert first.created_at.tzinfo is not None
    assert hub.outbox_counts() == {"pending": 1, "done": 0, "failed": 0}


def test_crash_between_enqueue_and_vendor_call_retries_with_same_key(hub):
    """Input: enqueue, mark an attempt, then 'crash' (drop the Hub) before any result is recorded.
    A new Hub (the restarted run) re-enqueues the same key and gets the pending row back, so it calls
    the vendor again with that key; after mark_done the row leaves the pending list."""
    row = _enqueue(hub, "qb:invoice:in_1:v1")
    hub.mark_attempt(row.id)
    url = hub.engine.url.render_as_string(hide_password=False)
    hub.dispose()

    restarted = Hub(url)
    again = _enqueue(restarted, "qb:invoice:in_1:v1")
    assert again.id == row.id and again.idempotency_key == row.idempotency_key
    assert again.status == "pending" and again.attempts == 1
    assert [r.id for r in restarted.pending("quickbooks", "invoice")] == [row.id]
    restarted.mark_done(row.id, "130")
    done = restarted.outbox_row("qb:invoice:in_1:v1")
    assert done.status == "done" and done.external_id == "130"
    assert restarted.pending() == []
    assert _enqueue(restarted, "qb:invoice:in_1:v1").status == "done"  # a replay after success sends nothing
    restarted.dispose()


def test_failed_rows_are_retried_until_max_attempts(db_url):
    """Input: a hub with max_attempts=2; one row fails twice, another stays pending. Secrets in the error
    message are not stored."""
    hub = Hub(db_url, max_attempts=2)
    hub.migrate()
    try:
        failing = _enqueue(hub, "k-fail", canonical_key="in_1")
        waiting = _enqueue(hub, "k-wait", canonical_key="in_2")
        hub.mark_attempt(failing.id)
        hub.mark_failed(failing.id, "401 from vendor: Authorization: Bearer eyJhbGciOi.abc sk_test_51Habc")
        assert [r.idempotency_key for r in hub.pending()] == ["k-fail", "k-wait"]  # oldest first
        stored = hub.outbox_row("k-fail")
        assert stored.status == "failed" and stored.attempts == 1
        assert "eyJhbGciOi" not in stored.last_error and "sk_test_51Habc" not in stored.last_error
        hub.mark_attempt(failing.id)
        hub.mark_failed(failing.id, "still failing")
        assert [r.id for r in hub.pending()] == [waiting.id]
        assert hub.pending(system="stripe") == []
        assert hub.outbox_counts() == {"pending": 1, "done": 0, "failed": 1}
        with pytest.raises(KeyError):
            hub.mark_done(999_999, "x")
    finally:
        hub.dispose()


def test_payload_with_decimals_is_stored_as_exact_strings(hub):
    """Input: an outbox payload carrying Decimal('1234.505') (a QuickBooks amount in major units)."""
    row = _enqueue(hub, "k-dec", {"Line": [{"Amount": Decimal("1234.505")}]})
    assert row.payload == {"Line": [{"Amount": "1234.505"}]}


def test_concurrent_enqueue_of_one_key_yields_one_row(hub):
    """Input: eight threads enqueue the same key at once (the race the IntegrityError re-read covers)."""
    results, errors = [], []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(_enqueue(hub, "k-race"))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({row.id for row in results}) == 1
    assert hub.outbox_counts()["pending"] == 1


class _LateReader(Hub):
    """A Hub whose first existence check misses, as when another worker inserts right after our read."""

    missed = False

    def outbox_row(self, idempotency_key):
        if not self.missed:
            self.missed = True
            return None
        return super().outbox_row(idempotency_key)


def test_enqueue_losing_the_insert_race_returns_the_winners_row(hub):
    """Input: worker A stores key k-lost; worker B's read missed it, so B's INSERT hits the unique key.
    B must get A's row back (payload and all) instead of an error or a second row."""
    winner = _enqueue(hub, "k-lost", {"from": "A"})
    loser = _LateReader.from_engine(hub.engine)
    row = _enqueue(loser, "k-lost", {"from": "B"})
    assert loser.missed and row == winner and row.payload == {"from": "A"}
    assert hub.outbox_counts()["pending"] == 1
