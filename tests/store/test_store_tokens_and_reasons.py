"""OAuth token rotation with compare-and-swap; why a link exists; which field a dead letter failed on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

EXPIRES = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_token_rotation_lets_exactly_one_of_two_refreshers_win(hub):
    """Input: a stored pair at version 1; two refreshers both read it and try to store their new pair."""
    assert hub.save_token("quickbooks", "realm-1", "access-1", "refresh-1", EXPIRES, expected_version=None)
    assert not hub.save_token("quickbooks", "realm-1", "access-x", "refresh-x", EXPIRES, expected_version=None)
    read = hub.token("quickbooks", "realm-1")
    assert read.version == 1 and read.refresh_token == "refresh-1"
    first = hub.save_token("quickbooks", "realm-1", "access-2", "refresh-2", EXPIRES + timedelta(hours=1), 1)
    second = hub.save_token("quickbooks", "realm-1", "access-3", "refresh-3", EXPIRES + timedelta(hours=1), 1)
    assert (first, second) == (True, False)
    stored = hub.token("quickbooks", "realm-1")
    assert (stored.refresh_token, stored.version) == ("refresh-2", 2)
    assert stored.expires_at == EXPIRES + timedelta(hours=1)
    assert "refresh-2" not in repr(stored) and "access-2" not in repr(stored)


def test_concurrent_rotation_from_threads_stores_one_pair(hub):
    """Input: 8 threads all rotating from version 1 at once."""
    hub.save_token("quickbooks", "realm-2", "a", "r", EXPIRES, None)
    wins = []

    def rotate(n: int) -> None:
        wins.append(hub.save_token("quickbooks", "realm-2", f"a{n}", f"r{n}", EXPIRES, 1))

    threads = [threading.Thread(target=rotate, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1
    assert hub.token("quickbooks", "realm-2").version == 2


def test_link_keeps_its_reason_and_dead_letter_its_field(hub):
    """Input: a link made from Stripe metadata; a dead letter for a bad currency field."""
    hub.link("customer", "cus_1", "salesforce", "001000000000001AAA", reason="salesforce_id_in_stripe_metadata")
    assert hub.link_reason("customer", "cus_1", "salesforce") == "salesforce_id_in_stripe_metadata"
    hub.dead_letter("stripe", "invoice", "in_1", "unknown currency 'xts'", {"id": "in_1"}, field="currency")
    (letter,) = hub.dead_letters()
    assert letter.field == "currency"
