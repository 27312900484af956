"""Internal usage events -> Stripe billing meter events, through the outbox (internal event id as the key).

Planning reads the landed internal usage events (raw `internal/usage_events`) that have no outbox row yet
and stores one row per event that Stripe can take (connectors.meter_event_rules), with the exact meter
event it will send, before any call; the rest go to the dead letters with their reason, except events
from the future, which wait. Pushing sends each pending row with `identifier` = the internal event id
and the row's stored Idempotency-Key, several at once (each request takes a permit from the account's
shared rate limit). A crash after Stripe accepted an event but before `mark_done` is safe: the resend
replays (same Idempotency-Key) or Stripe refuses the identifier as a duplicate, which, for a row sent
before, means it landed, so it is adopted. Stripe keeps identifiers for at least 24 hours only, and has
no way to look one event up: a row whose earlier send is older than that is held for a person (dead
letter) rather than resent and perhaps counted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import stripe

from connectors.meter_event_rules import MeterEvent, Rejection, Wait, meter_event_for
from connectors.outbox_keys import idempotency_key
from connectors.stripe import StripeConnector
from store.hub import Hub
from store.records import OutboxRow

log = logging.getLogger("concord.sync.stripe_usage")

SYSTEM = "stripe"
ENTITY = "meter_event"
SOURCE = ("internal", "usage_events")
# Stripe enforces identifier uniqueness "within a rolling period of at least 24 hours".
DEDUPE_WINDOW = timedelta(hours=24)
DEFAULT_WORKERS = 8
CHUNK_ROWS = 500  # rows claimed, sent and recorded together
EXAMPLES = 10

Progress = Callable[[str], None]


@dataclass
class UsageCounts:
    planned: int = 0
    sent: int = 0
    adopted: int = 0  # Stripe already had the identifier from an earlier send of ours
    waiting: int = 0  # occurs more than 5 minutes ahead: planned once its time comes
    held: int = 0  # sent before, outcome unknown, past Stripe's dedupe window: left to a person
    failed: int = 0  # transient (throttled, 5xx, no answer): retried next run
    dead_lettered: int = 0
    examples: list[str] = field(default_factory=list)  # event ids sent, at most EXAMPLES
    errors: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, int | str]:
        return {"planned": self.planned, "sent": self.sent, "adopted": self.adopted, "waiting": self.waiting,
                "held": self.held, "failed": self.failed, "dead_lettered": self.dead_lettered,
                "examples": ", ".join(self.examples) or "none"}


def plan_usage(hub: Hub, counts: UsageCounts, now: datetime, run_id: str | None = None) -> None:
    """One outbox row per landed usage event that has none yet and that Stripe can take now. Only events
    without a row are read (an anti-join in the hub), so a run costs what is new, not the whole history."""
    known_customers = {customer.stripe_id for customer in hub.customers()}
    lettered = {letter.external_id for letter in hub.dead_letters(SYSTEM, ENTITY)}
    rows, cleared = [], []
    for event_id, payload in hub.unplanned_raw(*SOURCE, SYSTEM, ENTITY):
        verdict = meter_event_for(payload, known_customers, now)
        if isinstance(verdict, Wait):
            counts.waiting += 1
        elif isinstance(verdict, Rejection):
            hub.dead_letter(SYSTEM, ENTITY, event_id, verdict.reason, payload, run_id=run_id, field=verdict.field)
            counts.dead_lettered += 1
            log.warning("usage event %s not sent to Stripe: %s", event_id, verdict.reason)
        else:
            key = idempotency_key(ENTITY, "create", event_id)
            rows.append((SYSTEM, ENTITY, "create", event_id, key, {"event": verdict.as_payload()}))
            if event_id in lettered:
                cleared.append(event_id)
    counts.planned += hub.enqueue_many(rows)
    for event_id in cleared:  # refused by an earlier run, fixed since (e.g. its customer landed)
        hub.clear_dead_letter(SYSTEM, ENTITY, event_id)


# ---- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    row: OutboxRow
    kind: str  # sent | adopted | refused | failed
    detail: str = ""
    field: str | None = None


def _is_duplicate_identifier(error: stripe.StripeError) -> bool:
    return getattr(error, "code", None) == "duplicate_meter_event" or "already exists with identifier" in str(error)


def _classify(row: OutboxRow, error: stripe.StripeError, sent_before: bool) -> Outcome:
    """What a refusal means. Throttling, 5xx, dropped answers and auth trouble are transient; a 400 is not."""
    message = getattr(error, "user_message", None) or str(error)
    if isinstance(error, stripe.InvalidRequestError) and _is_duplicate_identifier(error):
        if sent_before:
            return Outcome(row, "adopted", message)
        return Outcome(row, "refused", f"Stripe already holds identifier {row.canonical_key} from a send Concord "
                                       f"has no record of; check it is this event: {message}", "id")
    if isinstance(error, stripe.IdempotencyError) or (
            isinstance(error, stripe.InvalidRequestError) and error.http_status == 400):
        return Outcome(row, "refused", f"Stripe refused the meter event: {message}", getattr(error, "param", None))
    return Outcome(row, "failed", f"{type(error).__name__}: {message}")


def _send_one(connector: StripeConnector, row: OutboxRow) -> Outcome:
    event = MeterEvent.from_payload(row.payload["event"])
    try:
        connector.create_meter_event(event.event_name, event.stripe_payload(), event.identifier, event.timestamp,
                                     row.idempotency_key)
    except stripe.StripeError as error:
        return _classify(row, error, sent_before=row.attempts > 0)
    return Outcome(row, "sent")


def _give_up(hub: Hub, counts: UsageCounts, row: OutboxRow, reason: str, field_name: str | None,
             run_id: str | None) -> None:
    """The row is never sent again; a person reads why in the dead letters."""
    hub.give_up(row.id, reason)
    hub.dead_letter(SYSTEM, ENTITY, row.canonical_key, reason, row.payload.get("event"), run_id=run_id,
                    field=field_name)
    counts.errors.append(f"usage event {row.canonical_key}: {reason}")


def _record(hub: Hub, counts: UsageCounts, outcomes: Sequence[Outcome], run_id: str | None) -> None:
    done = []
    for outcome in outcomes:
        row = outcome.row
        if outcome.kind in ("sent", "adopted"):
            reason = "sent_by_concord" if outcome.kind == "sent" else "identifier_already_in_stripe"
            done.append((row, row.canonical_key, reason))
            setattr(counts, outcome.kind, getattr(counts, outcome.kind) + 1)
            if len(counts.examples) < EXAMPLES:
                counts.examples.append(row.canonical_key)
        elif outcome.kind == "refused":
            _give_up(hub, counts, row, outcome.detail, outcome.field, run_id)
            counts.dead_lettered += 1
        else:
            hub.mark_failed(row.id, outcome.detail)
            counts.failed += 1
            counts.errors.append(f"usage event {row.canonical_key}: {outcome.detail}")
            if row.attempts + 1 >= hub.max_attempts:
                hub.dead_letter(SYSTEM, ENTITY, row.canonical_key,
                                f"failed {row.attempts + 1} times: {outcome.detail}", row.payload.get("event"),
                                run_id=run_id)
                counts.dead_lettered += 1
    hub.finish_writes(done)  # the xref then says: internal event id -> Stripe identifier


def _hold_stale(hub: Hub, counts: UsageCounts, rows: Sequence[OutboxRow], now: datetime,
                run_id: str | None) -> list[OutboxRow]:
    """Rows safe to (re)send; a row sent before whose last try is older than Stripe's identifier window is held."""
    fresh = []
    for row in rows:
        if row.attempts > 0 and now - row.updated_at > DEDUPE_WINDOW:
            _give_up(hub, counts, row, f"sent before (last try {row.updated_at.isoformat()}) with no answer "
                         "recorded, and Stripe's 24 h identifier dedupe has lapsed: a resend could count it twice; "
                         "check the meter's event summaries before resending", None, run_id)
            counts.held += 1
        else:
            fresh.append(row)
    return fresh


def push_usage(hub: Hub, connector: StripeConnector, *, workers: int = DEFAULT_WORKERS, now: datetime | None = None,
               run_id: str | None = None, progress: Progress | None = None) -> UsageCounts:
    """Plan, then send every pending meter event row; returns what happened (failed rows stay pending)."""
    now = now or datetime.now(UTC)
    counts = UsageCounts()
    plan_usage(hub, counts, now, run_id)
    rows = hub.pending(SYSTEM, ENTITY)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = _hold_stale(hub, counts, rows[start:start + CHUNK_ROWS], now, run_id)
            claimed = hub.claim_attempts(chunk)  # counted before the call, so a crash mid-call still counts
            outcomes = list(pool.map(lambda row: _send_one(connector, row), [r for r in chunk if r.id in claimed]))
            _record(hub, counts, outcomes, run_id)
            if progress:
                progress(f"usage: {min(start + CHUNK_ROWS, len(rows))}/{len(rows)} meter events pushed to Stripe")
    return counts
