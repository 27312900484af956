"""Money coming in and going back: payments (charges / payment intents), refunds, disputes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mappings.model.ids import canonical_id
from mappings.money import Money


@dataclass(frozen=True)
class Payment:
    """A captured payment: the Stripe charge (ch_), linked to its payment intent (pi_) and invoice."""

    ids: dict[str, str]  # {"stripe": "ch_...", "stripe_payment_intent": "pi_...", "quickbooks": "..."}
    amount: Money
    created: datetime
    status: str  # succeeded | pending | failed
    customer_stripe_id: str | None = None
    invoice_stripe_id: str | None = None
    amount_refunded: Money | None = None
    balance_transaction_id: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return canonical_id("payment", self.ids)


@dataclass(frozen=True)
class Refund:
    """A refund, full or partial, keyed by its own re_ id (never the charge's)."""

    ids: dict[str, str]
    amount: Money
    charge_stripe_id: str
    created: datetime
    status: str  # pending | requires_action | succeeded | failed | canceled
    reason: str | None = None
    balance_transaction_id: str | None = None
    payment_intent_stripe_id: str | None = None

    @property
    def id(self) -> str:
        return canonical_id("refund", self.ids)


@dataclass(frozen=True)
class Dispute:
    ids: dict[str, str]
    amount: Money
    charge_stripe_id: str
    created: datetime
    status: str  # warning_needs_response | needs_response | under_review | won | lost | ...
    reason: str
    balance_transaction_ids: tuple[str, ...] = ()  # the debit (and any reinstatement) on the balance

    @property
    def id(self) -> str:
        return canonical_id("dispute", self.ids)
