"""Updating QuickBooks copies when the canonical record changes: sparse, and safe against a bookkeeper's edits.

Concord owns the properties its mapping writes (customer_to_quickbooks, invoice_to_quickbooks); a
bookkeeper may set any other property in QuickBooks (a memo, a phone number, terms). So an update
sends only the owned properties that changed between what Concord last wrote (the payload of the
record's last done outbox row) and the record now, as a sparse update: every property it does not
name stays as QuickBooks has it.

The SyncToken is read when the update is planned. If someone edits the record before the update is
sent, QuickBooks answers Fault 5010 (stale object); the record is then re-read and the changed
properties that still differ are re-applied on the fresh SyncToken, again sparse. Nothing else is sent,
so the other person's change survives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from quickbooks.exceptions import AuthorizationException, QuickbooksException

from connectors import quickbooks_batch
from connectors.outbox_keys import derived_request_id, idempotency_key, new_generation
from connectors.quickbooks import QuickBooksConnector
from connectors.quickbooks_batch import Outcome, Write, row_request_id
from store.hashing import content_hash, to_jsonable
from store.hub import Hub
from store.records import OutboxRow

log = logging.getLogger("concord.sync.quickbooks")

STALE_OBJECT = "5010"
MAX_REAPPLY = 3  # fresh re-reads per update before it counts as a failed attempt

BodyOf = Callable[[dict], dict]  # a stored canonical record -> the QuickBooks body Concord writes for it


def same(desired: Any, actual: Any) -> bool:
    """Does QuickBooks' `actual` already say what Concord's `desired` says?

    Objects compare on the properties Concord gives (QuickBooks adds Id, name, LineNum...), numbers as
    Decimals, and a Line list ignores the SubTotalLine QuickBooks appends."""
    if isinstance(desired, Mapping):
        return isinstance(actual, Mapping) and all(same(value, actual.get(key)) for key, value in desired.items())
    if isinstance(desired, list | tuple):
        if not isinstance(actual, list):
            return False
        actual = [item for item in actual
                  if not (isinstance(item, Mapping) and item.get("DetailType") == "SubTotalLineDetail")]
        return len(actual) == len(desired) and all(same(d, a) for d, a in zip(desired, actual, strict=True))
    if isinstance(desired, Decimal | int) and not isinstance(desired, bool) and actual is not None:
        try:
            return Decimal(str(actual)) == Decimal(desired)
        except InvalidOperation:
            return False
    return desired == actual


def changed_fields(new: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The owned properties whose value differs between two bodies of the mapping (new wins).
    A property the new body leaves out is not cleared: sparse updates cannot say "remove"."""
    return {key: value for key, value in new.items() if not same(value, base.get(key))}


def plan_updates(hub: Hub, qb: QuickBooksConnector, system: str, entity: str, qb_entity: str,
                 records: Sequence[dict], key_of: Callable[[dict], str], body_of: BodyOf) -> int:
    """Queue a sparse update for every linked record whose owned properties changed since Concord last
    wrote it; reads the current SyncTokens of those records (one query per 100)."""
    last = hub.latest_done_payloads(system, entity)
    links = hub.links(entity, system)
    candidates = []
    for record in records:
        record = to_jsonable(record)
        key = key_of(record)
        base = (last.get(key) or {}).get("record")
        if key not in links or base is None or base == record:
            continue
        if changed_fields(body_of(record), body_of(base)):
            candidates.append((key, record, base))
    if not candidates:
        return 0
    current = {obj["Id"]: obj for obj in qb.find_in(qb_entity, "Id", [links[key] for key, _, _ in candidates])}
    planned = 0
    for key, record, base in candidates:
        obj = current.get(links[key])
        if obj is None:  # gone from QuickBooks: reconciliation reports it, an update cannot bring it back
            log.warning("%s %s: QuickBooks %s %s not found; not updated", entity, key, qb_entity, links[key])
            continue
        # From this base to this record: going back to an earlier value later is a new update, not a replay.
        row_key = idempotency_key(entity, "update", f"{key}@{content_hash([base, record])[:16]}")
        if hub.outbox_row(row_key) is not None:
            continue
        hub.enqueue(system, entity, "update", key, row_key, {
            "record": record, "base": base, "qb_id": links[key], "sync_token": str(obj["SyncToken"]),
            "generation": new_generation()})
        planned += 1
    return planned


def update_write(row: OutboxRow, qb_entity: str, body_of: BodyOf) -> Write | None:
    """The sparse update a planned row sends; None when nothing owned changed after all."""
    fields = changed_fields(body_of(row.payload["record"]), body_of(row.payload["base"]))
    if not fields:
        return None
    body = {"Id": row.payload["qb_id"], "SyncToken": row.payload["sync_token"], "sparse": True, **fields}
    return Write(row, qb_entity, "update", body)


def _owned_changes(write: Write) -> dict[str, Any]:
    return {key: value for key, value in write.body.items() if key not in ("Id", "SyncToken", "sparse")}


def reapply_on_fresh_token(qb: QuickBooksConnector, write: Write) -> Outcome:
    """After a 5010: re-read the record and send only Concord's changed properties that still differ,
    on the fresh SyncToken. No write at all when the record already says what Concord wants."""
    fields = _owned_changes(write)
    for _ in range(MAX_REAPPLY):
        try:
            fresh = qb.get_object(write.entity, write.body["Id"])
            remaining = {key: value for key, value in fields.items() if not same(value, fresh.get(key))}
            if not remaining:
                return Outcome(write, obj=fresh)
            body = {"Id": fresh["Id"], "SyncToken": fresh["SyncToken"], "sparse": True, **remaining}
            request = derived_request_id(row_request_id(write.row), "synctoken", str(fresh["SyncToken"]))
            return Outcome(write, obj=qb.update(write.entity, body, request))
        except AuthorizationException:
            raise
        except QuickbooksException as exc:
            if str(exc.error_code) != STALE_OBJECT:
                return Outcome(write, code=str(exc.error_code), message=f"{exc.message} {exc.detail or ''}".strip())
            log.info("%s %s changed again while Concord re-applied its update; re-reading", write.entity,
                     write.body["Id"])
    return Outcome(write, code=STALE_OBJECT, message=f"still stale after {MAX_REAPPLY} fresh re-reads")


def send_updates(qb: QuickBooksConnector, writes: Sequence[Write], batch_size: int, attempts: dict[int, int]
                 ) -> list[Outcome]:
    """Send sparse updates (batched); an item answered with 5010 is re-applied on a fresh SyncToken."""
    outcomes = []
    for outcome in quickbooks_batch.send(qb, writes, batch_size, attempts):
        if not outcome.ok and outcome.code == STALE_OBJECT:
            log.info("%s %s: stale SyncToken (someone edited it); re-applying Concord's fields",
                     outcome.write.entity, outcome.write.body["Id"])
            outcome = reapply_on_fresh_token(qb, outcome.write)
        outcomes.append(outcome)
    return outcomes
