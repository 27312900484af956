"""The embedded stand-in for a company's internal database: customers and usage events, from the shared seed.

With no CONCORD_INTERNAL_DB_URL, Concord reads this SQLite file, so the internal-database streams run
out of the box. Its shape is a typical product database's: a `customers` table that remembers each
account's Salesforce and Stripe ids, and an append-mostly `usage_events` table whose quantities are
integers (never floats). Timestamps are naive UTC, as many such databases store them. Many rows share
one `updated_at`, as they do after a bulk update, so readers that page on the watermark alone skip rows.
Usage events fall in the 30 days before the sample is built (the product is in use now), so they are
inside the 35 days for which Stripe still accepts meter events.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from sandboxes.seed import SeedData

METADATA = sa.MetaData()
CUSTOMERS = sa.Table(
    "customers", METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("salesforce_account_id", sa.String(18)),
    sa.Column("stripe_customer_id", sa.String(64)),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("email", sa.String(320)),
    sa.Column("currency", sa.String(3)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
USAGE_EVENTS = sa.Table(
    "usage_events", METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("stripe_customer_id", sa.String(64), nullable=False),
    sa.Column("event_name", sa.String(100), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
)
EVENTS_PER_CUSTOMER = 5
_BULK_UPDATE = datetime(2026, 1, 1)  # naive UTC: the import that created every row at once


def build_internal_sample(url: str, seed: SeedData, now: datetime | None = None) -> dict[str, int]:
    """Create (or replace) the sample tables at `url` from `seed`, usage events in the 30 days up to an hour
    before `now` (default: the current time); returns the row counts."""
    latest = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=1)
    engine = sa.create_engine(url)
    try:
        METADATA.drop_all(engine)
        METADATA.create_all(engine)
        rng = random.Random(seed.seed)
        customers = [
            {"id": index, "salesforce_account_id": account.salesforce_id,
             "stripe_customer_id": account.stripe_customer_id, "name": account.name, "email": account.email,
             "currency": account.currency.upper(), "updated_at": _BULK_UPDATE}
            for index, account in enumerate(seed.accounts, start=1)
        ]
        events = []
        for account in seed.accounts:
            for _ in range(EVENTS_PER_CUSTOMER):
                events.append({"id": len(events) + 1, "stripe_customer_id": account.stripe_customer_id,
                               "event_name": "api_calls", "quantity": rng.randrange(1, 5000),
                               "occurred_at": latest - timedelta(minutes=rng.randrange(60 * 24 * 30))})
        with engine.begin() as conn:
            conn.execute(sa.insert(CUSTOMERS), customers)
            conn.execute(sa.insert(USAGE_EVENTS), events)
        return {"customers": len(customers), "usage_events": len(events)}
    finally:
        engine.dispose()


def sample_url(directory: Path) -> str:
    return f"sqlite:///{(directory / 'internal-sample.db').resolve()}"
