"""Snapshots of the Stripe sandbox: everything needed to bring an account back after a restart.

A snapshot holds what differs from the seeded account, as plain JSON (the runner writes it with
json.dumps): Decimals (tax percentages, coupon percent_off) become {"$decimal": "12.5"}, tuples become
lists. The id generator's state is saved too, so ids minted after a restore continue the sequence
instead of repeating old ones.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from sandboxes.state_codec import decode, encode
from sandboxes.stripe.idempotency import StoredResult
from sandboxes.stripe.state import StripeState

if TYPE_CHECKING:
    from sandboxes.stripe.sandbox import StripeSandbox

FORMAT = "concord-stripe-sandbox/1"
# Every per-object store of StripeState, by attribute name.
STORES = (
    "customers", "invoices", "lines", "invoice_items", "products", "prices", "coupons", "discounts",
    "discount_coupons", "tax_rates",
    "subscriptions", "subscription_items", "payment_methods", "payment_intents", "charges", "refunds",
    "disputes", "balance_transactions", "payouts", "invoice_payments", "webhook_endpoints", "meter_events",
    "meters",
    "paid_out", "card_tokens", "deleted_customers",
)
SCALARS = ("last_payout_day", "last_tick")



def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _set_rng_state(rng: random.Random, saved: list[Any]) -> None:
    version, internal, gauss = saved
    rng.setstate((version, tuple(internal), gauss))


def _changes(current: dict[str, Any], seeded: dict[str, Any]) -> dict[str, Any]:
    """What a store holds beyond its seeded contents: changed or new entries, and removed ids."""
    changed = {key: encode(value) for key, value in current.items() if seeded.get(key, _MISSING) != value}
    return {"changed": changed, "removed": [key for key in seeded if key not in current]}


_MISSING = object()


def snapshot(sandbox: StripeSandbox) -> dict[str, Any]:
    """Only the difference from the seeded account is written (the seed rebuilds the rest): at scale=1000
    the seed is ~100k objects, a session's changes a few hundred."""
    state = sandbox.state
    with state.lock:
        seeded = StripeState(state.seed, now=state.seeded_at, history_months=state.history_months)
        try:
            return _snapshot(sandbox, seeded)
        finally:
            # The baseline's event log names it back (ids closure): break that cycle so the ~100k seeded objects
            # go as soon as this returns, instead of waiting for a full collection.
            seeded.event_log = None  # type: ignore[assignment]


def _snapshot(sandbox: StripeSandbox, seeded: StripeState) -> dict[str, Any]:
    state = sandbox.state
    return {
        "format": FORMAT,
        "seed": state.seed.seed,
        "seeded_at": state.seeded_at,
        "history_months": state.history_months,
        "stores": {name: _changes(getattr(state, name), getattr(seeded, name)) for name in STORES},
        "scalars": {name: getattr(state, name) for name in SCALARS},
        "events": encode(state.event_log.events),
        "ids": _rng_state(state.ids._rng),
        "clock_offset": sandbox.clock.offset,
        "idempotency": {key: {"fingerprint": stored.fingerprint, "status": stored.status,
                              "body": stored.body.decode("utf-8"), "request_id": stored.request_id,
                              "stored_at": stored.stored_at}
                        for key, stored in sandbox._idempotency.items()},
        "requests": encode(sandbox._requests),
    }


def restore(sandbox: StripeSandbox, data: dict[str, Any]) -> None:
    """Replace the sandbox's state with a snapshot (taken from a sandbox of the same seed)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not a Stripe sandbox snapshot (format {data.get('format')!r}, expected {FORMAT!r})")
    state = sandbox.state
    if data.get("seed") != state.seed.seed:
        raise ValueError(f"the snapshot is of seed {data.get('seed')}, this sandbox has seed {state.seed.seed}")
    with state.lock:
        state.history_months = data.get("history_months", 0)  # the snapshot's seeded history, whatever we had
        state.reset(now=data["seeded_at"])  # the exact seeded account the snapshot was diffed against
        for name in STORES:
            store, saved = getattr(state, name), data["stores"][name]
            for key in saved["removed"]:
                store.pop(key, None)
            store.update(decode(saved["changed"]))
        for name in SCALARS:
            setattr(state, name, data["scalars"][name])
        state.event_log.clear()
        state.event_log.events.update(decode(data["events"]))
        _set_rng_state(state.ids._rng, data["ids"])
        sandbox.clock.set_offset(float(data["clock_offset"]))
        sandbox._idempotency.clear()
        for key, stored in data["idempotency"].items():
            sandbox._idempotency.store(key, StoredResult(stored["fingerprint"], stored["status"],
                                                         stored["body"].encode("utf-8"), stored["request_id"],
                                                         stored["stored_at"]))
        sandbox._requests[:] = decode(data["requests"])
