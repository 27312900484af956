"""Keep secrets and card numbers out of the hub: dead letters and outbox errors pass through here.

Vendor error messages can echo an API key or a bearer token, and a bad record can carry a card
number; none of it may be stored (see DESIGN.md, "no secret and no card number is ever ... written
to a dead letter").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

# Keys whose values are credentials or card data wherever they appear in a payload.
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api[_-]?key|authorization|cookie|^cvc$|^cvv$|card[_-]?number|^pan$)",
    re.IGNORECASE,
)
_SECRET_TEXT = [
    re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+"),  # Stripe keys
    re.compile(r"\bwhsec_[A-Za-z0-9]+"),  # Stripe webhook signing secrets
    re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
    re.compile(r"\b(access_token|refresh_token|client_secret|password)=[^&\s]+", re.IGNORECASE),
]
_CARD_CANDIDATE = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _redact_cards(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return REDACTED if _luhn_ok(digits) else match.group(0)

    return _CARD_CANDIDATE.sub(replace, text)


def redact_text(text: str) -> str:
    """`text` with API keys, tokens and Luhn-valid card numbers replaced by [redacted]."""
    for pattern in _SECRET_TEXT:
        text = pattern.sub(REDACTED, text)
    return _redact_cards(text)


def redact_payload(value: Any) -> Any:
    """A copy of `value` with secret-named keys blanked and secrets removed from strings."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and _SECRET_KEY.search(key) else redact_payload(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_payload(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
