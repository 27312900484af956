"""Who is who across systems: the rules that link one customer's records.

1. The Salesforce Account Id, carried in Stripe metadata and in the QuickBooks customer's Notes
   ("salesforce:<id>"), links records with certainty (reason "salesforce_id").
2. A shared system id (e.g. the Stripe id in QuickBooks Notes "stripe:<id>") links with certainty too
   (reason "<system>_id").
3. Only when neither side has an id the other knows: the exact e-mail (trimmed, case-insensitive), and
   only if exactly one candidate has it. Flagged for review (reason "email_fallback").
4. Never a name, fuzzy or exact: two companies may share one, and one company may spell it two ways.
Every link carries its reason, so the cross-reference table can record why two records are one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ID_SYSTEMS = ("salesforce", "stripe", "quickbooks", "internal")
EMAIL_FALLBACK = "email_fallback"


@dataclass(frozen=True)
class Party:
    """What identity needs of a customer record in any system."""

    ids: Mapping[str, str]
    email: str | None = None


@dataclass(frozen=True)
class IdentityLink:
    source_ids: dict[str, str]
    target_ids: dict[str, str]
    reason: str  # salesforce_id | stripe_id | quickbooks_id | internal_id | email_fallback
    flagged: bool  # True: a person should confirm (the e-mail fallback)


class IdentityConflict(ValueError):
    """Two or more candidates claim the same id: linking either would merge different customers."""


def normalize_email(email: str | None) -> str | None:
    cleaned = (email or "").strip().casefold()
    return cleaned or None


def _contradicts(source: Party, candidate: Party) -> bool:
    """Both carry an id in the same system and the ids differ: provably not the same customer."""
    return any(
        source.ids.get(system) and candidate.ids.get(system) and source.ids[system] != candidate.ids[system]
        for system in ID_SYSTEMS
    )


def link_customer(source: Party, candidates: Iterable[Party]) -> IdentityLink | None:
    """The candidate that is the same customer as `source`, with the reason; None if there is none."""
    pool = list(candidates)
    for system in ID_SYSTEMS:
        wanted = source.ids.get(system)
        if not wanted:
            continue
        matches = [c for c in pool if c.ids.get(system) == wanted]
        if len(matches) > 1:
            raise IdentityConflict(f"{len(matches)} records carry {system} id {wanted}")
        if matches:
            return IdentityLink(dict(source.ids), dict(matches[0].ids), f"{system}_id", flagged=False)
    email = normalize_email(source.email)
    if email is None:
        return None
    matches = [c for c in pool if normalize_email(c.email) == email and not _contradicts(source, c)]
    if len(matches) != 1:
        return None  # none, or ambiguous: an e-mail shared by two customers proves nothing
    return IdentityLink(dict(source.ids), dict(matches[0].ids), EMAIL_FALLBACK, flagged=True)
