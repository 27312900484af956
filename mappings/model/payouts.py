"""Balance transactions (every movement of the Stripe balance, with its fees) and payouts to the bank."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mappings.fx import FxRate
from mappings.model.ids import canonical_id
from mappings.money import Money


@dataclass(frozen=True)
class FeeDetail:
    amount: Money
    type: str  # stripe_fee | application_fee | payment_method_passthrough_fee | tax
    description: str | None = None


@dataclass(frozen=True)
class BalanceTransaction:
    """amount - fee = net, all in the balance (settlement) currency; exchange_rate is Stripe's, if converted."""

    ids: dict[str, str]
    type: str  # charge | refund | adjustment | payout | stripe_fee | ...
    reporting_category: str  # charge | refund | dispute | dispute_reversal | payout | fee | ...
    amount: Money
    fee: Money
    net: Money
    created: datetime
    available_on: datetime
    status: str
    source_stripe_id: str | None = None  # ch_ / re_ / dp_ / po_ it belongs to
    fee_details: tuple[FeeDetail, ...] = ()
    exchange_rate: Decimal | None = None  # presentment amount x rate = amount (settlement currency)
    description: str | None = None

    @property
    def id(self) -> str:
        return canonical_id("balance_transaction", self.ids)

    def fx(self, presentment_currency: str) -> FxRate | None:
        """The rate Stripe applied, given the charge's currency (the balance transaction lacks it)."""
        if self.exchange_rate is None:
            return None
        return FxRate(presentment_currency, self.amount.currency, self.exchange_rate, self.ids["stripe"])


@dataclass(frozen=True)
class Payout:
    ids: dict[str, str]
    amount: Money
    created: datetime
    arrival_date: datetime
    status: str  # paid | pending | in_transit | canceled | failed
    destination: str | None = None  # the bank account (ba_) id
    balance_transaction_id: str | None = None
    automatic: bool = True
    # What the payout settles: filled from GET /v1/balance_transactions?payout=po_...
    balance_transactions: tuple[BalanceTransaction, ...] = ()

    @property
    def id(self) -> str:
        return canonical_id("payout", self.ids)
