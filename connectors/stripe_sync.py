"""Create a Stripe customer for every Salesforce Account whose deal was Closed Won, through the outbox.

The rule (DESIGN.md, sync rules): a Salesforce Account gets a Stripe customer once one of its Opportunities
is Closed Won (IsWon, or StageName 'Closed Won'). Planning reads what the hub landed (Accounts,
Opportunities, Stripe customers) and stores one outbox row per Account that has no Stripe customer yet: not
linked in the cross-reference, no Stripe_Customer_Id__c on the Account, and no landed Stripe customer whose
metadata["salesforce_account_id"] names it. The row holds its idempotency key, derived from the Account Id
only, and the exact create params, both stored before any call; an Account that cannot be mapped (no Name,
an unknown currency) goes to the dead letters instead and the rest go on.

Pushing sends each row with `Idempotency-Key` = the stored key, so a retry within Stripe's 24-hour window
(the SDK's own retries, a rerun after a crash before `mark_done`) replays the first answer instead of
creating a second customer. A row that was attempted before (its attempt is counted before the call, so a
crash mid-call counts) may be past that window: it first searches Stripe for a customer whose metadata
carries the Account Id and adopts it. Stripe's search index trails writes by about a minute, far inside
the replay window, so between them every retry finds the first customer. The customer is then recorded in
one transaction: the cross-reference link (customer <-> Salesforce Account, with why), the row done, and a
second outbox row that writes the Stripe id back to the Account's Stripe_Customer_Id__c (sent by Id,
idempotent by nature). A row that has failed `hub.max_attempts` times goes to the dead letters with its
reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import requests
import simple_salesforce
import stripe

from connectors.outbox_failures import fail_row
from connectors.outbox_keys import idempotency_key
from connectors.salesforce import SalesforceConnector, SalesforceQuotaError
from connectors.stripe import StripeConnector
from mappings.canonical import MappingError
from mappings.model.deal import Deal
from mappings.salesforce_entities import STRIPE_CUSTOMER_FIELD, account_record_from_salesforce, deal_from_salesforce
from mappings.stripe_accounts import customer_params_for_account
from mappings.stripe_common import SALESFORCE_ID_KEY
from store import outbox, xref
from store.hub import Hub
from store.records import OutboxRow

log = logging.getLogger("concord.sync.stripe")

SYSTEM = "stripe"
ENTITY = "customer"
OPERATION = "create"
# The Stripe id written back to the Account: an outbox row of its own, so it is retried and dead-lettered too.
WRITE_BACK_SYSTEM = "salesforce"
WRITE_BACK_ENTITY = "account_stripe_id"
WRITE_BACK_OPERATION = "update"
CLOSED_WON_STAGE = "Closed Won"
CREATED = "created_by_concord"
ADOPTED = "adopted_by_metadata_search"
# How an Account's customer is known before any call (known_customers); the last two become link reasons.
LINKED = "linked"
FROM_METADATA = "adopted_landed_customer_metadata"
FROM_ACCOUNT_FIELD = "adopted_account_stripe_customer_id"

Progress = Callable[[str], None]


@dataclass
class PushCounts:
    planned: int = 0
    written: int = 0  # customers created in Stripe
    adopted: int = 0  # found in Stripe by their metadata (an earlier attempt landed) and linked, not created
    written_back: int = 0  # Stripe ids set on the Salesforce Accounts
    rejected: int = 0  # Accounts (or Opportunities) that cannot be mapped: dead-lettered before any row
    failed: int = 0
    dead_lettered: int = 0  # failed for the last allowed time: now in the dead letters
    errors: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # Salesforce Account ids that got their customer

    def as_metadata(self) -> dict[str, int | str]:
        return {
            "planned": self.planned, "written": self.written, "adopted": self.adopted,
            "written_back": self.written_back, "rejected": self.rejected, "failed": self.failed,
            "dead_lettered": self.dead_lettered, "examples": ", ".join(self.examples[:10]) or "none",
        }


def closed_won(deal: Deal) -> bool:
    """The deal that makes its Account a Stripe customer. IsWon is the org's own answer (a custom won stage
    has another name); the stage name covers a read that lacked IsWon."""
    return deal.is_won or deal.stage == CLOSED_WON_STAGE


def metadata_query(salesforce_id: str) -> str:
    """Stripe search for the customers carrying this Account Id (Ids are letters and digits: no quoting)."""
    if not salesforce_id.isascii() or not salesforce_id.isalnum():
        raise ValueError(f"not a Salesforce Id: {salesforce_id!r}")
    return f"metadata['{SALESFORCE_ID_KEY}']:'{salesforce_id}'"


def customer_key(salesforce_id: str) -> str:
    return idempotency_key("stripe_customer", OPERATION, salesforce_id)


# ---- planning ------------------------------------------------------------------------------------


def _clear_fixed(hub: Hub, system: str, entity: str, good: set[str]) -> None:
    """Dead letters of records that map now are cleared (one query, not one delete per good record)."""
    for external_id in {letter.external_id for letter in hub.dead_letters(system, entity)} & good:
        hub.clear_dead_letter(system, entity, external_id)


def won_accounts(hub: Hub, counts: PushCounts, run_id: str | None = None) -> set[str]:
    """Ids of the Accounts with at least one Closed Won Opportunity that is not deleted (landed raw)."""
    won: set[str] = set()
    good: set[str] = set()
    for opportunity_id, payload in hub.raw_payloads("salesforce", "opportunity"):
        try:
            deal = deal_from_salesforce(payload)
        except MappingError as exc:
            hub.dead_letter("salesforce", "opportunity", opportunity_id, f"cannot read the deal: {exc}", payload,
                            run_id=run_id, field=exc.field)
            counts.rejected += 1
            continue
        good.add(opportunity_id)
        if closed_won(deal) and not payload.get("IsDeleted"):
            won.add(deal.account_salesforce_id)
    _clear_fixed(hub, "salesforce", "opportunity", good)
    return won


def known_customers(hub: Hub) -> dict[str, tuple[str, str]]:
    """Account Id -> (Stripe customer id, how it is known) for every Account Stripe already has a customer for:
    linked in the cross-reference, named in the metadata of a landed Stripe customer (made by hand, or landed
    after an earlier attempt created it), or set on the landed Account's Stripe_Customer_Id__c."""
    known: dict[str, tuple[str, str]] = {}
    for salesforce_id, payload in hub.raw_payloads("salesforce", "account"):
        if payload.get(STRIPE_CUSTOMER_FIELD):
            known[salesforce_id] = (str(payload[STRIPE_CUSTOMER_FIELD]), FROM_ACCOUNT_FIELD)
    for customer_id, payload in sorted(hub.raw_payloads("stripe", "customer"),
                                       key=lambda item: (item[1].get("created") or 0, item[0]), reverse=True):
        salesforce_id = (payload.get("metadata") or {}).get(SALESFORCE_ID_KEY)
        if salesforce_id:
            known[str(salesforce_id)] = (customer_id, FROM_METADATA)  # the oldest last: it wins
    for customer_id, salesforce_id in hub.links("customer", "salesforce").items():
        known[salesforce_id] = (customer_id, LINKED)
    return known


def plan(hub: Hub, counts: PushCounts | None = None, run_id: str | None = None,
         known: dict[str, tuple[str, str]] | None = None) -> int:
    """Queue a create for every won Account without a Stripe customer (`known`: known_customers, when the
    caller has it already); returns how many rows are new."""
    counts = counts if counts is not None else PushCounts()
    won = won_accounts(hub, counts, run_id)
    known = known_customers(hub) if known is None else known
    rows, good = [], set()
    for salesforce_id, payload in hub.raw_payloads("salesforce", "account"):
        if salesforce_id not in won or salesforce_id in known:
            continue
        try:
            params = customer_params_for_account(account_record_from_salesforce(payload))
        except MappingError as exc:
            hub.dead_letter(SYSTEM, ENTITY, salesforce_id, f"cannot map the Salesforce Account for Stripe: {exc}",
                            payload, run_id=run_id, field=exc.field)
            counts.rejected += 1
            log.warning("Salesforce Account %s dead-lettered: %s", salesforce_id, exc)
            continue
        good.add(salesforce_id)
        # The params are fixed with the key: a replay needs the same request, even if the Account changes.
        rows.append((SYSTEM, ENTITY, OPERATION, salesforce_id, customer_key(salesforce_id), {"params": params}))
    _clear_fixed(hub, SYSTEM, ENTITY, good)
    return hub.enqueue_many(rows)


# ---- pushing -------------------------------------------------------------------------------------


def _fail(hub: Hub, counts: PushCounts, row: OutboxRow, error: str, attempt: int) -> None:
    fail_row(hub, counts, row, error, attempt, log=log, vendor=row.system, record=row.payload)


def _claim(hub: Hub, row: OutboxRow) -> bool:
    """Count this attempt before the call (a crash mid-call still counts); False when another push took it."""
    if row.id in hub.claim_attempts([row]):
        return True
    log.warning("%s %s row %s was claimed by another push meanwhile; leaving it to it", row.system, row.entity,
                row.canonical_key)
    return False


def _oldest(customers: Iterable[dict]) -> dict | None:
    """Of several customers carrying one Account Id, the first created is the one an earlier attempt made."""
    return min(customers, key=lambda customer: (customer.get("created") or 0, customer["id"]), default=None)


def _record(hub: Hub, row: OutboxRow, customer_id: str, reason: str, write_back: bool = True) -> None:
    """In one transaction: link the customer to its Account, mark the row done, queue the write-back."""
    salesforce_id = row.canonical_key
    key = idempotency_key(WRITE_BACK_ENTITY, WRITE_BACK_OPERATION, salesforce_id)
    with hub.transaction() as conn:
        # Customers are keyed by their Stripe id in the cross-reference, as canonical_customers links them.
        xref.link(conn, "customer", customer_id, "salesforce", salesforce_id, reason)
        outbox.mark_done(conn, row.id, customer_id)
        if write_back and outbox.outbox_row(conn, key) is None:
            outbox.insert_outbox_row(conn, WRITE_BACK_SYSTEM, WRITE_BACK_ENTITY, WRITE_BACK_OPERATION, salesforce_id,
                                     key, {"fields": {STRIPE_CUSTOMER_FIELD: customer_id}})


def _settle_known(hub: Hub, row: OutboxRow, known: tuple[str, str], counts: PushCounts) -> None:
    """A pending row whose Account got its customer meanwhile (landed since, or set by a person): no call."""
    customer_id, how = known
    try:
        if how == LINKED:
            hub.mark_done(row.id, customer_id)
        else:
            _record(hub, row, customer_id, how, write_back=how != FROM_ACCOUNT_FIELD)
    except xref.XrefConflict as exc:
        _fail(hub, counts, row, f"XrefConflict: {exc}", row.attempts + 1)
        return
    counts.adopted += 1


def push_row(hub: Hub, connector: StripeConnector, row: OutboxRow, counts: PushCounts,
             known: tuple[str, str] | None = None) -> None:
    if known is not None:
        _settle_known(hub, row, known, counts)
        return
    if not _claim(hub, row):
        return
    attempt = row.attempts + 1
    try:
        # Attempted before: the customer may exist, and past 24 hours the key no longer replays.
        existing = _oldest(connector.search_customers(metadata_query(row.canonical_key))) if row.attempts else None
        if existing is None:
            customer, reason = connector.create_customer(row.payload["params"], row.idempotency_key), CREATED
        else:
            customer, reason = existing, ADOPTED
        _record(hub, row, customer["id"], reason)
    except (stripe.StripeError, xref.XrefConflict, ValueError) as exc:
        _fail(hub, counts, row, f"{type(exc).__name__}: {exc}", attempt)
        return
    hub.clear_dead_letter(SYSTEM, ENTITY, row.canonical_key)
    counts.written += reason == CREATED
    counts.adopted += reason == ADOPTED
    counts.examples.append(row.canonical_key)
    log.info("Salesforce Account %s -> Stripe customer %s (%s)", row.canonical_key, customer["id"], reason)


def push_write_back(hub: Hub, salesforce: SalesforceConnector, row: OutboxRow, counts: PushCounts) -> None:
    if not _claim(hub, row):
        return
    try:
        salesforce.update_record("Account", row.canonical_key, row.payload["fields"])
    except simple_salesforce.exceptions.SalesforceResourceNotFound:
        # The Account was deleted since: nothing left to write the id to, and retrying cannot change that.
        log.warning("Salesforce Account %s is gone; its Stripe id is not written back", row.canonical_key)
        hub.mark_done(row.id, None)
        return
    except (simple_salesforce.exceptions.SalesforceError, SalesforceQuotaError, requests.RequestException) as exc:
        _fail(hub, counts, row, f"{type(exc).__name__}: {exc}", row.attempts + 1)
        return
    hub.mark_done(row.id, row.canonical_key)
    counts.written_back += 1


def push(hub: Hub, connector: StripeConnector, salesforce: SalesforceConnector | None = None,
         progress: Progress | None = None, run_id: str | None = None) -> PushCounts:
    """Plan, then send every pending customer row, then (with a Salesforce connector) the write-backs."""
    counts = PushCounts()
    # Planning only adds rows, so what Stripe is known to have is read once for both (every landed Account
    # and Stripe customer).
    known = known_customers(hub)
    counts.planned = plan(hub, counts, run_id, known)
    rows = hub.pending(SYSTEM, ENTITY)
    for done, row in enumerate(rows, start=1):
        push_row(hub, connector, row, counts, known.get(row.canonical_key))
        if progress and (done % 50 == 0 or done == len(rows)):
            progress(f"Stripe customers: {done}/{len(rows)} pushed")
    if salesforce is not None:
        for row in hub.pending(WRITE_BACK_SYSTEM, WRITE_BACK_ENTITY):
            push_write_back(hub, salesforce, row, counts)
    return counts
