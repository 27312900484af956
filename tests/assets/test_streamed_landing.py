"""Landing a read as a stream (assets.landing.land_validated), on SQLite and PostgreSQL.

Inputs tried: a stream of five records landed two at a time, one of them malformed (no id); a stream
that fails after its third record (a dropped connection part way through a first sync); and a full read
that no longer has a record landed before (deleted at the source).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assets.landing import land_validated
from connectors.stripe_validation import Problem
from store.hub import Hub

STREAM = "stripe.customer"


@pytest.fixture
def hub(db_url):
    hub = Hub(db_url)
    hub.migrate()
    yield hub
    hub.dispose()


def _context():
    logged = []
    return SimpleNamespace(run_id="run-1", log=SimpleNamespace(warning=logged.append, info=logged.append))


def _check(record: dict):
    return None if record.get("id") else Problem("id", "missing id")


def _landed(hub: Hub) -> set[str]:
    return {external_id for external_id, _ in hub.raw_payloads("stripe", "customer")}


def test_a_stream_lands_chunk_by_chunk_and_the_cursor_last(hub):
    records = [{"id": f"cus_{n}", "n": n} for n in range(5)]
    records[3] = {"n": 3}  # malformed: no id
    seen_while_streaming = []

    def stream():
        for index, record in enumerate(records):
            # What the store holds when the stream hands over each record: earlier chunks, never the cursor.
            seen_while_streaming.append((index, _landed(hub), hub.get_cursor(STREAM)))
            yield record

    counts, rejected = land_validated(_context(), hub, "stripe", "customer", stream(), _check, deleted=[],
                                      stream=STREAM, cursor=lambda: (1_700_000_000, ""), complete=True,
                                      chunk_size=2)
    assert seen_while_streaming[2] == (2, {"cus_0", "cus_1"}, None)
    assert seen_while_streaming[4] == (4, {"cus_0", "cus_1", "cus_2"}, None)
    assert _landed(hub) == {"cus_0", "cus_1", "cus_2", "cus_4"}
    assert hub.get_cursor(STREAM) == (1_700_000_000, "")
    assert (counts.inserted, rejected) == (4, ["(missing id)"])
    assert [letter.field for letter in hub.dead_letters("stripe", "customer")] == ["id"]


def test_a_stream_that_breaks_keeps_what_landed_and_moves_no_cursor(hub):
    def broken():
        for n in range(3):
            yield {"id": f"cus_{n}"}
        raise ConnectionError("connection dropped after three records")

    with pytest.raises(ConnectionError):
        land_validated(_context(), hub, "stripe", "customer", broken(), _check, deleted=[], stream=STREAM,
                       cursor=(1_700_000_000, ""), complete=True, chunk_size=2)
    assert _landed(hub) == {"cus_0", "cus_1"}
    assert hub.get_cursor(STREAM) is None  # the next run reads everything again
    # ... and that rerun lands the rest, the first two unchanged, nothing marked deleted.
    counts, _ = land_validated(_context(), hub, "stripe", "customer", ({"id": f"cus_{n}"} for n in range(4)),
                               _check, deleted=[], stream=STREAM, cursor=(1_700_000_000, ""), complete=True,
                               chunk_size=2)
    assert (counts.inserted, counts.unchanged, counts.deleted) == (2, 2, 0)
    assert hub.get_cursor(STREAM) == (1_700_000_000, "")


def test_a_full_stream_marks_what_it_lacks_deleted_only_at_its_end(hub):
    first = [{"id": f"cus_{n}"} for n in range(4)]
    land_validated(_context(), hub, "stripe", "customer", first, _check, deleted=[], stream=STREAM,
                   cursor=(1, ""), complete=True, chunk_size=2)
    # cus_0 is gone at the source; cus_3 comes in the last chunk, after cus_1 and cus_2.
    counts, _ = land_validated(_context(), hub, "stripe", "customer", iter(first[1:]), _check, deleted=[],
                               stream=STREAM, cursor=(2, ""), complete=True, chunk_size=2)
    assert counts.deleted == 1
    assert _landed(hub) == {"cus_1", "cus_2", "cus_3"}
