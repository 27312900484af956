"""The sandbox org's starting records, derived deterministically from the shared SeedData.

Every seeded customer is an Account with two Contacts and a Closed Won Opportunity (the deal that
made it a Stripe customer); some also have an open or lost deal. The org has its Standard Price
Book, as every org does, and the plans Stripe sells (catalog.py) as products with a standard price in
each seeded currency, carrying their Stripe product and price ids.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sandboxes.salesforce.catalog import MONTHLY_BASE, PLANS, monthly_price, stripe_price_id, stripe_product_id
from sandboxes.salesforce.schema import CORPORATE_CURRENCY
from sandboxes.salesforce.sobjects import STAGE_BY_NAME
from sandboxes.seed import SeedAccount, SeedData

# Stripe's currency exponents for the seeded currencies (zero- and three-decimal ones included).
_EXPONENT = {"jpy": 0, "kwd": 3}
_COUNTRY_BY_CURRENCY = {
    "usd": "United States", "eur": "Germany", "gbp": "United Kingdom", "jpy": "Japan", "kwd": "Kuwait",
}
_FIRST_NAMES = ("Ana", "Björn", "Chloé", "Dmitri", "Eșref", "Fatima", "Gráinne", "Hiro", "Inés", "Jürgen")
_LAST_NAMES = ("O'Neil", "Ødegaard", "Nakamura", "García-López", "Smith", "Al-Sayed", "Kowalski", "D'Souza")
_TITLES = ("CFO", "Head of Finance", "Accounts Payable", "VP Engineering", "Procurement Lead")
_OPEN_STAGES = ("Prospecting", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review")

Row = dict[str, object]
NewId = Callable[[str], str]  # key prefix -> the next Id with that prefix


def format_datetime(moment: datetime) -> str:
    """Salesforce's wire format: milliseconds and a +0000 offset, e.g. 2026-01-01T00:00:00.000+0000."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def seed_rows(seed: SeedData, new_id: NewId) -> Iterator[tuple[str, Row]]:
    """(sObject name, row) for every seeded record, parents before children."""
    rng = random.Random(f"salesforce-org-{seed.seed}")
    first_stamp = format_datetime(datetime.fromtimestamp(min((a.created for a in seed.accounts), default=0), UTC))
    pricebook_id = new_id("01s")
    yield "Pricebook2", _stamped({
        "Id": pricebook_id, "Name": "Standard Price Book", "IsActive": True, "IsStandard": True,
        "Description": None,
    }, first_stamp)
    yield from _catalog_rows(new_id, pricebook_id, first_stamp)
    totals = _invoice_totals(seed)
    for index, account in enumerate(seed.accounts):
        created = datetime.fromtimestamp(account.created, UTC)
        yield "Account", _account_row(account, index, created)
        for offset in range(2):
            yield "Contact", _contact_row(account, rng, new_id("003"), created + timedelta(minutes=1 + offset))
        amount = totals.get(account.stripe_customer_id, Decimal(0))
        for stage, name, day in _deals(index):
            yield "Opportunity", _opportunity_row(
                account, new_id("006"), pricebook_id, stage, name, amount, created, day)


def _catalog_rows(new_id: NewId, pricebook_id: str, stamp: str) -> Iterator[tuple[str, Row]]:
    for key, name, multiple in PLANS:
        product_id = new_id("01t")
        yield "Product2", _stamped({
            "Id": product_id, "Name": name, "ProductCode": key.upper(), "Description": f"{name} plan",
            "IsActive": True, "Family": "Subscription", "Stripe_Product_Id__c": stripe_product_id(key),
            "CurrencyIsoCode": CORPORATE_CURRENCY,
        }, stamp)
        for currency in MONTHLY_BASE:
            yield "PricebookEntry", _stamped({
                "Id": new_id("01u"), "Name": name, "Pricebook2Id": pricebook_id, "Product2Id": product_id,
                "UnitPrice": monthly_price(currency, multiple), "IsActive": True, "UseStandardPrice": False,
                "ProductCode": key.upper(), "Stripe_Price_Id__c": stripe_price_id(key, currency),
                "CurrencyIsoCode": currency.upper(),
            }, stamp)


def _stamped(row: Row, stamp: str) -> Row:
    row.update({"IsDeleted": False, "CreatedDate": stamp, "LastModifiedDate": stamp, "SystemModstamp": stamp})
    return row


def _account_row(account: SeedAccount, index: int, created: datetime) -> Row:
    return _stamped({
        "Id": account.salesforce_id,
        "Name": account.name,
        "Type": "Customer",
        "BillingCountry": _COUNTRY_BY_CURRENCY.get(account.currency),
        "Website": "https://" + account.email.split("@", 1)[1],
        "NumberOfEmployees": 10 * (index + 1),
        "CurrencyIsoCode": account.currency.upper(),
        "Stripe_Customer_Id__c": account.stripe_customer_id,
    }, format_datetime(created))


def _contact_row(account: SeedAccount, rng: random.Random, record_id: str, created: datetime) -> Row:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    domain = account.email.split("@", 1)[1]
    local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and (ch.isalnum() or ch == "."))
    return _stamped({
        "Id": record_id,
        "AccountId": account.salesforce_id,
        "FirstName": first,
        "LastName": last,
        "Name": f"{first} {last}",
        "Email": f"{local}@{domain}",
        "Phone": f"+1 555 01{rng.randrange(100):02d}",
        "Title": rng.choice(_TITLES),
        "CurrencyIsoCode": account.currency.upper(),
    }, format_datetime(created))


def _deals(index: int) -> list[tuple[str, str, int]]:
    """(stage, name suffix, close day after the account was created) of each seeded Opportunity."""
    deals = [("Closed Won", "Platform subscription", 7)]
    if index % 3 == 0:
        deals.append((_OPEN_STAGES[index // 3 % len(_OPEN_STAGES)], "Seat expansion", 400))
    if index % 4 == 1:
        deals.append(("Closed Lost", "Premium support add-on", 30))
    return deals


def _opportunity_row(account: SeedAccount, record_id: str, pricebook_id: str, stage: str, name: str,
                     amount: Decimal, created: datetime, close_day: int) -> Row:
    _, probability, closed, won = STAGE_BY_NAME[stage]
    stamp = created + timedelta(minutes=5)
    return _stamped({
        "Id": record_id,
        "AccountId": account.salesforce_id,
        "Name": f"{account.name} - {name}",
        "StageName": stage,
        "Amount": amount if won else (amount * 2).quantize(Decimal("0.01")),
        "Probability": probability,
        "CloseDate": (created + timedelta(days=close_day)).date().isoformat(),
        "Type": "New Customer" if won else "Existing Customer - Upgrade",
        "IsClosed": closed,
        "IsWon": won,
        "Pricebook2Id": pricebook_id,
        "CurrencyIsoCode": account.currency.upper() or CORPORATE_CURRENCY,
        "Description": None,
    }, format_datetime(stamp))


def _invoice_totals(seed: SeedData) -> dict[str, Decimal]:
    """Each customer's first invoice total in major units (the won deal's size), at Amount's scale of 2."""
    totals: dict[str, Decimal] = {}
    for invoice in seed.invoices:
        if invoice.customer in totals:
            continue
        exponent = _EXPONENT.get(invoice.currency, 2)
        totals[invoice.customer] = (Decimal(invoice.total).scaleb(-exponent)).quantize(Decimal("0.01"))
    return totals
