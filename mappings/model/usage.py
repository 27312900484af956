"""Usage events (internal DB master) that become Stripe meter events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mappings.model.ids import canonical_id


@dataclass(frozen=True)
class UsageRecord:
    ids: dict[str, str]  # {"internal": "<event id>", "stripe": "<meter event identifier>"}
    customer_stripe_id: str
    event_name: str  # the Stripe meter's event_name
    quantity: Decimal  # usage is a count, not money; Decimal because meters accept fractional values
    timestamp: datetime  # UTC

    @property
    def id(self) -> str:
        return canonical_id("usage_record", self.ids)
