"""The Stripe entities Concord lands, and how each one is listed, completed, re-read and kept up to date.

One table so every read (first sync, incremental, backfill) of every entity follows the same rules:

- `path`, `list_params`: the list endpoint of a full read. Subscriptions are listed with `status=all`,
  since Stripe's default list hides canceled ones and a full read must hold every subscription.
- `embedded`: a list Stripe embeds only partly (the first 10 entries and `has_more`); a landed record always
  holds all of it (invoice lines, subscription items, charge refunds), so landed rows do not depend on
  whether they came from a list or a re-read. They are not landed separately, so they need no keys of their own.
- `changes`: "events" (the Events API is the change log; each event is routed by its `data.object.object`)
  or "created" (balance transactions: Stripe emits no event for them; they are listed by `created`, see
  connectors.stripe_changes.created_cursor).
- `parents`: an event about this object also changes another landed object that embeds it (a refund is in
  its charge's `refunds`, an invoice item is a line of its draft invoice, an invoice moves its customer's
  `next_invoice_sequence`): that object is re-read too.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Embedded:
    field: str  # e.g. "lines"
    path: str  # "{id}" is the owner's id
    params: tuple[tuple[str, str], ...] = ()  # extra query parameters ("{id}" replaced)


@dataclass(frozen=True)
class StripeEntity:
    name: str  # the raw landing entity and Stripe's `object` value, e.g. "customer"
    asset: str  # the asset key's last part, e.g. "customers"
    path: str  # list endpoint; retrieve is path + "/" + id
    changes: str = "events"
    list_params: tuple[tuple[str, str], ...] = ()
    embedded: Embedded | None = None
    parents: tuple[tuple[str, str], ...] = field(default=())  # (entity name, field holding its id)

    @property
    def stream(self) -> str:
        """The hub cursor's stream name."""
        return f"stripe.{self.name}"


ENTITIES: tuple[StripeEntity, ...] = (
    StripeEntity("customer", "customers", "/v1/customers"),
    # An invoice's customer moves on with it (`next_invoice_sequence`, `balance`) and Stripe sends no
    # customer.updated for that: the customer is re-read with every invoice change.
    StripeEntity("invoice", "invoices", "/v1/invoices", embedded=Embedded("lines", "/v1/invoices/{id}/lines"),
                 parents=(("customer", "customer"),)),
    StripeEntity("product", "products", "/v1/products"),
    StripeEntity("price", "prices", "/v1/prices"),
    StripeEntity("subscription", "subscriptions", "/v1/subscriptions", list_params=(("status", "all"),),
                 embedded=Embedded("items", "/v1/subscription_items", (("subscription", "{id}"),))),
    StripeEntity("charge", "charges", "/v1/charges", embedded=Embedded("refunds", "/v1/charges/{id}/refunds")),
    StripeEntity("payment_intent", "payment_intents", "/v1/payment_intents"),
    StripeEntity("refund", "refunds", "/v1/refunds", parents=(("charge", "charge"),)),
    StripeEntity("dispute", "disputes", "/v1/disputes", parents=(("charge", "charge"),)),
    StripeEntity("payout", "payouts", "/v1/payouts"),
    StripeEntity("balance_transaction", "balance_transactions", "/v1/balance_transactions", changes="created"),
)

BY_NAME = {entity.name: entity for entity in ENTITIES}

# Objects we do not land whose events change objects we do: an invoice item is a line of its invoice.
FOREIGN_PARENTS: dict[str, tuple[tuple[str, str], ...]] = {"invoiceitem": (("invoice", "invoice"),)}

# `*.deleted` events that do not delete: a canceled subscription stays retrievable (status canceled).
NOT_DELETIONS = frozenset({"customer.subscription.deleted"})


def is_deletion(event_type: str) -> bool:
    return event_type.endswith(".deleted") and event_type not in NOT_DELETIONS


def routes(event: dict) -> list[tuple[str, str, bool]]:
    """The landed objects an event changes, as (entity name, object id, deleted)."""
    obj = event["data"]["object"]
    kind = obj.get("object", "")
    found: list[tuple[str, str, bool]] = []
    if kind in BY_NAME:
        found.append((kind, obj["id"], is_deletion(event["type"])))
    parents = BY_NAME[kind].parents if kind in BY_NAME else FOREIGN_PARENTS.get(kind, ())
    for parent, id_field in parents:
        parent_id = obj.get(id_field)
        if isinstance(parent_id, dict):
            parent_id = parent_id.get("id")
        if isinstance(parent_id, str) and parent_id:
            found.append((parent, parent_id, False))
    return found
