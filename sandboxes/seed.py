"""Deterministic seed data shared by the three sandboxes.

One imaginary company's customers exist in Salesforce (as Accounts) and in Stripe (as Customers
whose metadata carries the Salesforce Account Id), and Stripe holds their finalized invoices.
QuickBooks starts empty except for its chart of accounts and one service Item: Concord's sync fills it.
The same `seed` always yields the same ids, names and amounts.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

# Names that break naive clients: apostrophes, backslashes, quotes, non-ASCII letters.
COMPANY_NAMES = [
    ("O'Brien \\ \"x\"", "usd"),
    ("Zoë Müller GmbH", "eur"),
    ("株式会社サクラ", "jpy"),
    ("Al-Khaleej Trading W.L.L.", "kwd"),
    ("O'Reilly & Sons Ltd", "gbp"),
    ("Crème Brûlée Café", "eur"),
    ("Ærøskøbing Bikes ApS", "eur"),
    ("Acme Rockets, Inc.", "usd"),
    ("Łódź Software sp. z o.o.", "eur"),
    ("Núñez y Compañía S.A.", "usd"),
    ("Björk & Dóttir ehf.", "gbp"),
    ("Tokyo Ramen Works", "jpy"),
]

PRODUCTS = [
    ("Platform subscription", 1),
    ("Seats", 5),
    ("Premium support", 1),
    ("Onboarding package", 1),
    ("API overage (1k calls)", 3),
]

# Unit prices in minor units per currency exponent class.
_PRICE_BASE = {"usd": 4900, "eur": 4500, "gbp": 3900, "jpy": 7400, "kwd": 15250}

EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: all seeded timestamps follow it
# Customers arrive an hour apart, or closer when there are many, so that every customer of any scale
# signs up within CREATION_SPAN of EPOCH and its last seeded invoice (70 days later) is still before
# 2026-12-01: a finance team's books hold nothing created in the future, and no list misses it.
CREATION_SPAN = 260 * 86_400


def _token(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class SeedAccount:
    salesforce_id: str  # 18-character Account Id
    stripe_customer_id: str
    name: str
    email: str
    currency: str  # lower-case, as Stripe writes it
    created: int


@dataclass(frozen=True)
class SeedLine:
    description: str
    quantity: int
    unit_amount: int  # minor units


@dataclass(frozen=True)
class SeedInvoice:
    stripe_id: str
    number: str
    customer: str  # Stripe customer id
    currency: str
    status: str  # open | paid
    created: int
    due_date: int
    lines: tuple[SeedLine, ...]

    @property
    def total(self) -> int:
        return sum(line.quantity * line.unit_amount for line in self.lines)


@dataclass(frozen=True)
class SeedData:
    seed: int
    accounts: tuple[SeedAccount, ...] = field(default_factory=tuple)
    invoices: tuple[SeedInvoice, ...] = field(default_factory=tuple)


def build_seed(seed: int = 42, scale: int = 1) -> SeedData:
    """`scale` multiplies the number of customers (names repeat with a numeric suffix)."""
    rng = random.Random(seed)
    accounts: list[SeedAccount] = []
    count = len(COMPANY_NAMES) * max(scale, 1)
    spacing = min(3600, CREATION_SPAN // count)
    for index in range(count):
        base_name, currency = COMPANY_NAMES[index % len(COMPANY_NAMES)]
        name = base_name if index < len(COMPANY_NAMES) else f"{base_name} #{index // len(COMPANY_NAMES) + 1}"
        slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())[:12] or f"co{index}"
        accounts.append(
            SeedAccount(
                salesforce_id="001" + _token(rng, 15),
                stripe_customer_id="cus_" + _token(rng, 14),
                name=name,
                email=f"billing+{index}@{slug}.example.com",
                currency=currency,
                created=EPOCH + index * spacing,
            )
        )
    invoices: list[SeedInvoice] = []
    for account_index, account in enumerate(accounts):
        for invoice_index in range(1 + account_index % 3):
            line_count = 1 + rng.randrange(3)
            lines = tuple(
                SeedLine(
                    description=description,
                    quantity=quantity,
                    unit_amount=_PRICE_BASE[account.currency] * (1 + rng.randrange(4)),
                )
                for description, quantity in rng.sample(PRODUCTS, line_count)
            )
            created = account.created + 86_400 * (10 + invoice_index * 30)
            invoices.append(
                SeedInvoice(
                    stripe_id="in_" + _token(rng, 24),
                    number=f"{_token(rng, 8, string.ascii_uppercase + string.digits)}-{invoice_index + 1:04d}",
                    customer=account.stripe_customer_id,
                    currency=account.currency,
                    status="paid" if rng.random() < 0.5 else "open",
                    created=created,
                    due_date=created + 30 * 86_400,
                    lines=lines,
                )
            )
    return SeedData(seed=seed, accounts=tuple(accounts), invoices=tuple(invoices))
