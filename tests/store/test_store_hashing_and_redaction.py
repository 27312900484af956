"""Pure helpers: canonical JSON hashing and secret redaction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from store.hashing import canonical_json, content_hash
from store.redact import REDACTED, redact_payload, redact_text
from store.timeutil import as_utc


def test_canonical_json_sorts_keys_and_keeps_decimals_exact():
    """Input: dicts with keys in different orders, a Decimal with a trailing zero and a date."""
    assert canonical_json({"b": 1, "a": Decimal("0.10"), "d": date(2026, 1, 2)}) == (
        '{"a":"0.10","b":1,"d":"2026-01-02"}'
    )
    assert content_hash({"x": 1, "y": [1, 2]}) == content_hash({"y": [1, 2], "x": 1})
    assert content_hash({"a": Decimal("0.1")}) != content_hash({"a": Decimal("0.10")})
    assert canonical_json({"name": "Zoë"}) == '{"name":"Zoë"}'


def test_canonical_json_refuses_unknown_types():
    """Input: a set, which JSON cannot represent faithfully."""
    with pytest.raises(TypeError):
        canonical_json({"tags": {"a", "b"}})


def test_redact_text_removes_keys_tokens_and_card_numbers_only():
    """Input: a message with a Stripe key, a webhook secret, a bearer token, a Luhn-valid card number and an
    invoice number / amount that must survive."""
    text = ("key sk_live_51AbC whsec_XyZ Authorization: Bearer abc.def-ghi card 4111-1111-1111-1111 "
            "invoice 1767225600123 total 1999")
    cleaned = redact_text(text)
    for secret in ("sk_live_51AbC", "whsec_XyZ", "abc.def-ghi", "4111-1111-1111-1111"):
        assert secret not in cleaned
    assert "1767225600123" in cleaned  # 13 digits but not Luhn-valid: a timestamp, kept
    assert "total 1999" in cleaned


def test_redact_payload_blanks_secret_named_keys_at_any_depth():
    """Input: nested dict/list with password, access_token, cvc and an ordinary invoice 'number'."""
    payload = {"number": "INV-1", "auth": {"password": "hunter2", "access_token": "t"}, "cards": [{"cvc": "123"}]}
    assert redact_payload(payload) == {
        "number": "INV-1",
        "auth": {"password": REDACTED, "access_token": REDACTED},
        "cards": [{"cvc": REDACTED}],
    }


def test_as_utc_treats_naive_values_as_utc():
    """Input: a naive datetime (as SQLite returns it), an aware one, and None."""
    naive = datetime(2026, 1, 1, 12, 0)
    assert as_utc(naive) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert as_utc(naive.replace(tzinfo=UTC)).tzinfo is UTC
    assert as_utc(None) is None
