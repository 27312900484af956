"""Identity rules, company-timezone accounting dates, and MappingError's field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mappings.canonical import MappingError
from mappings.dates import CompanyCalendar
from mappings.identity import IdentityConflict, Party, link_customer
from mappings.stripe import invoice_from_stripe


def test_salesforce_id_wins_over_email():
    """Input: a Stripe customer with a Salesforce id; QuickBooks candidates: one with that id in Notes and a
    different e-mail, one with the same e-mail but another Salesforce id."""
    stripe = Party({"stripe": "cus_1", "salesforce": "001A"}, "ap@acme.example")
    by_id = Party({"quickbooks": "58", "salesforce": "001A"}, "other@acme.example")
    by_email = Party({"quickbooks": "59", "salesforce": "001B"}, "AP@acme.example ")
    link = link_customer(stripe, [by_email, by_id])
    assert (link.target_ids["quickbooks"], link.reason, link.flagged) == ("58", "salesforce_id", False)


def test_email_is_a_flagged_fallback_and_never_contradicts_an_id():
    """Input: no shared id; e-mail differing only in case/space -> email_fallback, flagged. A candidate with
    another Salesforce id and the same e-mail is not linked."""
    source = Party({"stripe": "cus_1"}, "  AP@Acme.example")
    link = link_customer(source, [Party({"quickbooks": "7"}, "ap@acme.example")])
    assert (link.reason, link.flagged) == ("email_fallback", True)
    assert link_customer(Party({"salesforce": "001A"}, "a@x.example"),
                         [Party({"salesforce": "001B"}, "a@x.example")]) is None


def test_names_never_link_and_shared_email_is_ambiguous():
    """Input: same name, no e-mail; then one e-mail shared by two candidates; then two records claiming one id."""
    assert link_customer(Party({"stripe": "cus_1"}), [Party({"quickbooks": "7"})]) is None
    shared = [Party({"quickbooks": "7"}, "ap@x.example"), Party({"quickbooks": "8"}, "ap@x.example")]
    assert link_customer(Party({"stripe": "cus_1"}, "ap@x.example"), shared) is None
    with pytest.raises(IdentityConflict):
        link_customer(Party({"stripe": "cus_1"}), [Party({"stripe": "cus_1"}), Party({"stripe": "cus_1"})])


def test_accounting_date_in_company_timezone():
    """Input: a Stripe payment at 2026-03-01T02:00Z; Los Angeles books it on Feb 28, Tokyo and UTC on Mar 1."""
    moment = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert CompanyCalendar("America/Los_Angeles").accounting_date(moment) == date(2026, 2, 28)
    assert CompanyCalendar("Asia/Tokyo").accounting_date(int(moment.timestamp())) == date(2026, 3, 1)
    assert CompanyCalendar("UTC").accounting_date(moment) == date(2026, 3, 1)
    with pytest.raises(ValueError):
        CompanyCalendar("Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        CompanyCalendar("UTC").accounting_date(datetime(2026, 3, 1))  # naive: refused


def test_mapping_error_names_the_field_and_keeps_a_readable_message():
    """Input: a Stripe invoice whose total is a float; expect field 'total' and the reason in str()."""
    with pytest.raises(MappingError) as caught:
        invoice_from_stripe({"id": "in_1", "object": "invoice", "currency": "usd", "customer": "cus_1",
                             "total": 12.5, "status": "open", "created": 1})
    assert caught.value.field == "total"
    assert "in_1: total must be an integer" in str(caught.value)
