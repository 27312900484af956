"""Salesforce record Ids: 15 case-sensitive characters plus a 3-character case-folding checksum.

New records get real-looking 18-character Ids (key prefix, pod, reserved digit, base-62 counter)
so clients that validate the checksum or compare 15- and 18-character forms behave as in production.
"""

from __future__ import annotations

import random
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_CHECKSUM_ALPHABET = string.ascii_uppercase + "012345"
_POD = "5g"


def checksum(id15: str) -> str:
    """The 3 characters Salesforce appends: one per 5-char chunk, encoding which chars are upper-case."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << offset for offset, char in enumerate(id15[start:start + 5]) if char.isupper())
        suffix += _CHECKSUM_ALPHABET[bits]
    return suffix


def make_id(key_prefix: str, number: int) -> str:
    """The `number`-th Id with this key prefix (001 Account, 01g query locator...)."""
    digits = ""
    while True:
        number, remainder = divmod(number, 62)
        digits = _BASE62[remainder] + digits
        if number == 0:
            break
    id15 = f"{key_prefix}{_POD}0{digits.rjust(9, '0')}"
    return id15 + checksum(id15)


def access_token_for(seed: int) -> str:
    """A deterministic token shaped like a real one: org Id, '!', then an opaque session string."""
    rng = random.Random(f"salesforce-access-token-{seed}")
    org_id15 = f"00D{_POD}0000" + "".join(rng.choice(_BASE62) for _ in range(6))
    opaque = "".join(rng.choice(_BASE62 + "._") for _ in range(96))
    return f"{org_id15}!{opaque}"
