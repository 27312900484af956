"""QuickBooks sandbox books filled from the seed (`POST /_sandbox/books/from-seed`), read back through the
connector (python-quickbooks over HTTPS): every seeded customer and invoice, with totals in major units."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from quickbooks.exceptions import QuickbooksException

from connectors.qbo_query import select
from connectors.quickbooks import QuickBooksConnector
from sandboxes.quickbooks.query import Condition, execute, parse
from sandboxes.seed import build_seed
from tests.connectors.sandbox_clients import quickbooks_connector

SEED = build_seed(7, scale=3)
EXPONENT = {"usd": 2, "eur": 2, "gbp": 2, "jpy": 0, "kwd": 3}


@pytest.fixture(scope="module")
def seed():
    return SEED


@pytest.fixture(scope="module")
def filled(qb_sandbox, tls):
    with httpx.Client(base_url=qb_sandbox.base_url, verify=str(tls.bundle_path), timeout=30) as http:
        answer = http.post("/_sandbox/books/from-seed")
    assert answer.status_code == 200, answer.text
    return answer.json()["added"]


@pytest.fixture
def qb(qb_sandbox, tls, filled) -> QuickBooksConnector:
    return quickbooks_connector(qb_sandbox, tls)


def test_every_seeded_customer_and_invoice_is_in_the_books(qb, filled):
    assert filled == {"Customer": len(SEED.accounts), "Invoice": len(SEED.invoices)}
    customers = list(qb.iter_customers(page_size=10))
    assert sorted(c["DisplayName"] for c in customers) == sorted(a.name for a in SEED.accounts)
    notes = {c["Notes"].splitlines()[0] for c in customers}
    assert notes == {f"stripe:{a.stripe_customer_id}" for a in SEED.accounts}
    invoices = {i["PrivateNote"]: i for i in qb.iter_invoices(page_size=25)}
    assert len(invoices) == len(SEED.invoices)
    for seeded in SEED.invoices:
        booked = invoices[f"stripe:{seeded.stripe_id}"]
        assert Decimal(booked["TotalAmt"]) == Decimal(seeded.total).scaleb(-EXPONENT[seeded.currency])
        assert booked["CurrencyRef"]["value"] == seeded.currency.upper()


def test_prefilled_names_still_count_for_uniqueness(qb):
    """Input: a new customer named like a prefilled one -> QuickBooks' duplicate-name Fault (6240)."""
    taken = SEED.accounts[0].name
    with pytest.raises(QuickbooksException) as raised:
        qb.create_customer({"DisplayName": taken}, request_id="dup-prefilled-name")
    assert raised.value.error_code == 6240


@pytest.mark.parametrize("statement", [
    "SELECT * FROM Customer STARTPOSITION 11 MAXRESULTS 7",
    "SELECT * FROM Customer WHERE DisplayName LIKE '%Ltd%' ORDERBY MetaData.LastUpdatedTime, Id",
    "SELECT Id, Balance FROM Customer WHERE Active = true MAXRESULTS 5",
    "SELECT * FROM Invoice WHERE CustomerRef IN ('3', '4') ORDERBY Id DESC",
    "SELECT COUNT(*) FROM Invoice WHERE DocNumber > '5'",
    "SELECT * FROM Invoice WHERE TotalAmt > '100' ORDERBY TotalAmt DESC MAXRESULTS 4",  # rendered fields
])
def test_a_page_rendered_alone_equals_the_page_of_everything_rendered(qb_sandbox, filled, statement):
    """Input: queries that filter and sort on stored properties (rendered only for their page) and one on a
    rendered total: each answer equals running the query over every record rendered first."""
    company = qb_sandbox.company
    query = parse(statement)
    if query.entity == "Customer" and not any(condition.field == "Active" for condition in query.conditions):
        query.conditions.append(Condition("Active", "=", (True,)))  # as the company adds for name lists
    expected = execute(query, company.render_all(query.entity))
    assert company.query(statement) == expected and expected


def test_id_ordered_pages_read_only_as_far_as_they_need_and_match_a_full_sort(qb_sandbox, filled):
    """Input: every customer paged by STARTPOSITION in pages of 7 (Id order, read lazily), and the TaxCode list
    (Ids TAX and NON, not numbers) -> the same rows, in the same order, as one full query."""
    company = qb_sandbox.company
    everyone = company.query("SELECT * FROM Customer MAXRESULTS 1000")["Customer"]
    paged, start = [], 1
    while True:
        page = company.query(select("Customer", [], start_position=start, max_results=7)).get("Customer", [])
        paged += page
        if len(page) < 7:
            break
        start += 7
    assert [row["Id"] for row in paged] == [row["Id"] for row in everyone] == sorted(
        (row["Id"] for row in everyone), key=int)
    assert {row["Id"] for row in company.query("SELECT * FROM TaxCode")["TaxCode"]} == {"TAX", "NON"}
