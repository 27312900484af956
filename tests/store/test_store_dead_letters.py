"""Dead letters: one row per (record, reason), counted on repeat, cleared on success, never holding secrets."""

from __future__ import annotations


def test_repeated_failure_is_one_row_with_a_count(hub):
    """Input: the same bad invoice dead-lettered three times with one reason (runs r1, r2, r3)."""
    for run in ("r1", "r2", "r3"):
        hub.dead_letter("stripe", "invoice", "in_bad", "unknown currency code 'xxx'", {"id": "in_bad"}, run)
    [letter] = hub.dead_letters()
    assert letter.occurrences == 3
    assert letter.run_id == "r3"
    assert letter.last_seen_at >= letter.first_seen_at
    assert letter.first_seen_at.tzinfo is not None


def test_different_reasons_and_records_are_separate_and_filterable(hub):
    """Input: in_bad with two reasons, a QuickBooks record, no payload on one of them."""
    hub.dead_letter("stripe", "invoice", "in_bad", "unknown currency code 'xxx'", {"id": "in_bad"})
    hub.dead_letter("stripe", "invoice", "in_bad", "missing customer", None)
    hub.dead_letter("quickbooks", "Invoice", "77", "stale SyncToken", {"Id": "77"})
    assert len(hub.dead_letters()) == 3
    assert {d.reason for d in hub.dead_letters("stripe", "invoice")} == {"unknown currency code 'xxx'",
                                                                         "missing customer"}
    assert [d.external_id for d in hub.dead_letters(system="quickbooks")] == ["77"]
    assert hub.dead_letters(entity="customer") == []


def test_clear_removes_every_reason_for_a_record_that_now_succeeds(hub):
    """Input: in_bad dead-lettered for two reasons and in_other once; then in_bad goes through."""
    hub.dead_letter("stripe", "invoice", "in_bad", "reason one", {})
    hub.dead_letter("stripe", "invoice", "in_bad", "reason two", {})
    hub.dead_letter("stripe", "invoice", "in_other", "reason one", {})
    assert hub.clear_dead_letter("stripe", "invoice", "in_bad") == 2
    assert [d.external_id for d in hub.dead_letters()] == ["in_other"]
    assert hub.clear_dead_letter("stripe", "invoice", "in_bad") == 0


def test_secrets_and_card_numbers_never_reach_the_table(hub):
    """Input: a payload with an api_key field and a card number, a reason quoting a Stripe secret key."""
    payload = {"id": "pm_1", "api_key": "sk_live_abc123", "card": {"number": "4242 4242 4242 4242", "last4": "4242"},
               "note": "client paid with 4000056655665556", "amount": 1999}
    hub.dead_letter("stripe", "payment_method", "pm_1", "rejected with key sk_live_abc123", payload)
    [letter] = hub.dead_letters()
    stored = repr(letter.payload) + letter.reason
    for secret in ("sk_live_abc123", "4242 4242 4242 4242", "4000056655665556"):
        assert secret not in stored
    assert letter.payload["card"]["last4"] == "4242" and letter.payload["amount"] == 1999
