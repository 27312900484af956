"""The seeded product catalog: the plans Stripe sells, as Product2 rows with a standard PricebookEntry
per seeded currency, each carrying the Stripe ids they mirror (Stripe_Product_Id__c, Stripe_Price_Id__c).

The ids follow the Stripe sandbox's own derivation for its seeded catalog (sandboxes/stripe/finance_seed.py:
product "prod_" + 14 chars of sha256("plan|<key>"), monthly price "price_" + 24 chars of
sha256("<key>|<currency>|month")), so a sync can match both sides by id; tests/sandboxes check they agree.
The standard price is the monthly price, in major units of the currency (JPY has none, KWD three).
"""

from __future__ import annotations

import hashlib
import string
from decimal import Decimal

PLANS = (("starter", "Starter", 1), ("growth", "Growth", 3), ("scale", "Scale", 10))  # key, name, multiple
MONTHLY_BASE = {"usd": 2900, "eur": 2700, "gbp": 2300, "jpy": 4400, "kwd": 9000}  # minor units
EXPONENT = {"jpy": 0, "kwd": 3}

_ALPHABET = string.ascii_letters + string.digits
_BYTE_TO_CHAR = bytes(ord(_ALPHABET[byte % len(_ALPHABET)]) for byte in range(256))


def _stable_id(prefix: str, *parts: object, length: int = 24) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return prefix + digest[:length].translate(_BYTE_TO_CHAR).decode("ascii")


def stripe_product_id(plan: str) -> str:
    return _stable_id("prod_", "plan", plan, length=14)


def stripe_price_id(plan: str, currency: str, interval: str = "month") -> str:
    return _stable_id("price_", plan, currency, interval)


def monthly_price(currency: str, multiple: int) -> Decimal:
    """The monthly list price in major units, e.g. 29.00 USD, 4400 JPY, 9.000 KWD."""
    return Decimal(MONTHLY_BASE[currency] * multiple).scaleb(-EXPONENT.get(currency, 2))
