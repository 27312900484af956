"""Sending outbox rows to QuickBooks, up to 30 per batch call, with one outcome per row.

Each row becomes one BatchItemRequest whose bId is the row's idempotency key. The batch call carries
a requestid derived from its items (each item's own requestid and attempt number), so a batch retried
after a lost answer (connection dropped after QuickBooks committed) is replayed whole, while the next
attempt at a row that failed is a new request that QuickBooks evaluates again. A Fault on one item
fails only that item. With batch_size 1 each row goes through the entity endpoint with its own
requestid instead (one write per call, as before batching).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from quickbooks.exceptions import AuthorizationException, QuickbooksException

from connectors.outbox_keys import batch_request_id, request_id
from connectors.quickbooks import MAX_BATCH_ITEMS, RETRYABLE_CODES, QuickBooksConnector
from store.records import OutboxRow


@dataclass(frozen=True)
class Write:
    row: OutboxRow
    entity: str  # the QuickBooks entity, e.g. "Invoice"
    operation: str  # create | update
    body: dict

    @property
    def request_id(self) -> str:
        return row_request_id(self.row)


@dataclass(frozen=True)
class Outcome:
    write: Write
    obj: dict | None = None  # the object QuickBooks answered with, when the write landed
    code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.obj is not None

    @property
    def error(self) -> str:
        return f"QuickBooks fault {self.code}: {self.message}"


def row_request_id(row: OutboxRow) -> str:
    return request_id(row.idempotency_key, row.payload.get("generation"))


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _fault(write: Write, fault: dict) -> Outcome:
    errors = fault.get("Error") or [{}]
    first = errors[0]
    detail = first.get("Detail") or ""
    message = first.get("Message") or "unknown fault"
    return Outcome(write, code=str(first.get("code", "")), message=f"{message}: {detail}" if detail else message)


def _not_the_rows_fault(exc: QuickbooksException) -> bool:
    """Auth failures, and throttling or system faults that outlasted the retries, stop the run instead of
    counting against the rows (which would walk them to the dead letters for QuickBooks' bad minute)."""
    return isinstance(exc, AuthorizationException) or exc.error_code in RETRYABLE_CODES


def _single(qb: QuickBooksConnector, write: Write) -> Outcome:
    send = qb.create if write.operation == "create" else qb.update
    try:
        return Outcome(write, obj=send(write.entity, write.body, write.request_id))
    except QuickbooksException as exc:
        if _not_the_rows_fault(exc):
            raise
        return Outcome(write, code=str(exc.error_code or ""), message=f"{exc.message} {exc.detail or ''}".strip())


def _batch(qb: QuickBooksConnector, writes: Sequence[Write], attempts: dict[int, int]) -> list[Outcome]:
    items = [{"bId": write.row.idempotency_key, "operation": write.operation, write.entity: write.body}
             for write in writes]
    call_id = batch_request_id(f"{write.request_id}#{attempts[write.row.id]}" for write in writes)
    try:
        answers = qb.batch(items, call_id)
    except QuickbooksException as exc:  # the whole call was refused: every item failed with it
        if _not_the_rows_fault(exc):
            raise
        message = f"{exc.message} {exc.detail or ''}".strip()
        return [Outcome(write, code=str(exc.error_code or ""), message=message) for write in writes]
    by_bid = {answer.get("bId"): answer for answer in answers}
    outcomes = []
    for write in writes:
        answer = by_bid.get(write.row.idempotency_key)
        if answer is None:
            outcomes.append(Outcome(write, code="", message="QuickBooks sent no BatchItemResponse for this item"))
        elif "Fault" in answer:
            outcomes.append(_fault(write, answer["Fault"]))
        elif isinstance(answer.get(write.entity), dict):
            outcomes.append(Outcome(write, obj=answer[write.entity]))
        else:
            outcomes.append(Outcome(write, code="", message=f"BatchItemResponse without {write.entity}"))
    return outcomes


def send(qb: QuickBooksConnector, writes: Sequence[Write], batch_size: int, attempts: dict[int, int]
         ) -> list[Outcome]:
    """Send `writes` (already counted as attempted: `attempts` maps row id -> attempt number now).

    Faults come back as outcomes; a connection that stays lost through the connector's retries raises,
    leaving the rows attempted, so the next run looks them up before writing again."""
    if not 1 <= batch_size <= MAX_BATCH_ITEMS:
        raise ValueError(f"batch_size must be 1..{MAX_BATCH_ITEMS}")
    if batch_size == 1:
        return [_single(qb, write) for write in writes]
    outcomes: list[Outcome] = []
    for chunk in chunks(writes, batch_size):
        outcomes += _batch(qb, chunk, attempts)
    return outcomes
