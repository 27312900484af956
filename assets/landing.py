"""Landing a source read: validate each record, dead-letter the rejects, land the rest with the cursor."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from store import raw
from store.hub import Hub
from store.records import LandCounts

# Marks the dead letters validation wrote, so a fixed record clears only these (the mappings clear their own).
REASON_PREFIX = "rejected before landing: "
# Records landed per transaction: a full read of 100,000 invoices holds one chunk in memory, not all of them.
LANDING_CHUNK = 1000

Cursor = tuple[int, str] | None


def land_validated(context, store: Hub, system: str, entity: str, records: Iterable[dict],
                   check: Callable[[dict], object], *, deleted: list[str], stream: str,
                   cursor: Cursor | Callable[[], Cursor], complete: bool, id_field: str = "id",
                   chunk_size: int = LANDING_CHUNK) -> tuple[LandCounts, list[str]]:
    """Land the records `check` passes (it returns a Problem with `field` and `reason`, or None); the
    rejected records go to the dead letters. `records` may be a stream: it is landed `chunk_size` at a time,
    each chunk in its own transaction, so memory holds one chunk.

    The tombstones and the cursor land last, in one transaction after every record, so the cursor never
    covers a record that is not stored (a crash part way leaves the old cursor, and the next run reads
    again; landing is idempotent). `cursor` may be a function, called once the stream is consumed (a
    cursor computed from what was read). With `complete` (a full read) a stored record the read lacks is
    marked deleted then, but a rejected one is not: its last good version stays landed. Returns the counts
    and the rejected ids."""
    inserted = updated = unchanged = 0
    seen: set[str] = set()
    rejected: list[str] = []
    for chunk in _chunks(records, chunk_size):
        good = _validated(context, store, system, entity, chunk, check, id_field, rejected)
        with store.transaction() as conn:
            counts = raw.land_raw(conn, system, entity, good)
        inserted, updated, unchanged = inserted + counts.inserted, updated + counts.updated, \
            unchanged + counts.unchanged
        seen.update(external_id for external_id, _ in good)
    # Once, after the stream: each chunk reading every dead letter of the entity again cost a query per chunk.
    _clear_fixed(store, system, entity, seen)
    final_cursor = cursor() if callable(cursor) else cursor
    with store.transaction() as conn:
        absent = raw.mark_absent(conn, system, entity, seen | set(rejected)) if complete else 0
        counts = raw.land_changes(conn, system, entity, [], deleted, stream, final_cursor)
    return LandCounts(inserted=inserted, updated=updated, unchanged=unchanged,
                      deleted=absent + counts.deleted), rejected


def _chunks(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _validated(context, store: Hub, system: str, entity: str, chunk: list[dict], check, id_field: str,
               rejected: list[str]) -> list[tuple[str, dict]]:
    good: list[tuple[str, dict]] = []
    for record in chunk:
        found = check(record)
        if found is None:
            good.append((str(record[id_field]), record))
            continue
        external_id = record.get(id_field) if isinstance(record, dict) else None
        external_id = str(external_id) if external_id not in (None, "") else "(missing id)"
        store.dead_letter(system, entity, external_id, REASON_PREFIX + found.reason, record, run_id=context.run_id,
                          field=found.field or None)
        rejected.append(external_id)
        context.log.warning(f"{system} {entity} {external_id} dead-lettered before landing: {found.reason}")
    return good


def _clear_fixed(store: Hub, system: str, entity: str, good_ids: set[str]) -> None:
    for letter in store.dead_letters(system, entity):
        if letter.external_id in good_ids and letter.reason.startswith(REASON_PREFIX):
            store.clear_dead_letter(system, entity, letter.external_id)
