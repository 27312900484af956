"""A Salesforce Opportunity: the deal whose Closed Won creates the Stripe customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mappings.model.ids import canonical_id
from mappings.money import Money


@dataclass(frozen=True)
class Deal:
    ids: dict[str, str]  # {"salesforce": "006...", "stripe": "sub_..." once billed}
    account_salesforce_id: str
    name: str
    stage: str
    close_date: date
    amount: Money | None = None
    is_won: bool = False

    @property
    def id(self) -> str:
        return canonical_id("deal", self.ids)
