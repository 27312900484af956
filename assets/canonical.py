"""Canonical assets: raw vendor records mapped into the canonical model.

Mapping is per record: a record that cannot be mapped goes to the dead-letter table with its
reason and the rest go on. A record that maps later (fixed at the source) leaves the dead letters.
"""


from collections.abc import Callable

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from assets.resources import HubResource
from mappings.canonical import MappingError
from mappings.identity import IdentityConflict, Party, link_customer
from mappings.salesforce import account_from_salesforce
from mappings.stripe import customer_from_stripe, invoice_from_stripe
from store import XrefConflict

EXAMPLES = 10


def _map_all(context, hub, system: str, entity: str, mapper: Callable[[dict], object]):
    mapped, rejected = [], []
    for external_id, payload in hub.raw_payloads(system, entity):
        try:
            mapped.append(mapper(payload))
        except (MappingError, KeyError, TypeError, ValueError) as exc:
            reason = str(exc) if isinstance(exc, MappingError) else f"{type(exc).__name__}: {exc}"
            hub.dead_letter(system, entity, external_id, reason, payload, run_id=context.run_id,
                            field=getattr(exc, "field", None))
            rejected.append(external_id)
            context.log.warning(f"{system} {entity} {external_id} dead-lettered: {reason}")
            continue
        hub.clear_dead_letter(system, entity, external_id)
    return mapped, rejected


def _result(counts, mapped: list, rejected: list[str]) -> MaterializeResult:
    return MaterializeResult(
        metadata={
            "records": len(mapped),
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "dead_lettered": len(rejected),
            "dead_letter_examples": ", ".join(rejected[:EXAMPLES]) or "none",
        }
    )


@asset(
    key=["canonical", "customers"],
    group_name="canonical",
    deps=[AssetKey(["stripe", "customers"]), AssetKey(["salesforce", "accounts"])],
    description="One row per customer; Stripe supplies billing identity, Salesforce the account link.",
)
def canonical_customers(context: AssetExecutionContext, hub: HubResource):
    store = hub.hub()
    customers, rejected = _map_all(context, store, "stripe", "customer", customer_from_stripe)
    # An Account that cannot be mapped (no Name, an unknown currency) is dead-lettered like any record:
    # the customers it would have linked stay unlinked and the rest link.
    accounts, rejected_accounts = _map_all(context, store, "salesforce", "account", account_from_salesforce)
    candidates = [Party(ids={"salesforce": a.salesforce_id, **({"stripe": a.stripe_customer_id}
                                                                 if a.stripe_customer_id else {})})
                  for a in accounts]
    unlinked = []
    for customer in customers:
        source = Party(ids={"stripe": customer.stripe_id, **({"salesforce": customer.salesforce_id}
                                                              if customer.salesforce_id else {})},
                       email=customer.email)
        try:
            found = link_customer(source, candidates)
            if found is None:
                unlinked.append(customer.stripe_id)
                continue
            store.link("customer", customer.stripe_id, "salesforce", found.target_ids["salesforce"],
                       reason=found.reason)
            if found.flagged:
                context.log.warning(f"customer {customer.stripe_id} linked by {found.reason}: confirm it")
        except (IdentityConflict, XrefConflict) as exc:
            # Two records claim one identity: a person must decide; never guess.
            context.log.warning(f"customer {customer.stripe_id} not linked to Salesforce: {exc}")
            unlinked.append(customer.stripe_id)
    if unlinked:
        context.log.warning(f"{len(unlinked)} customer(s) have no Salesforce account: {', '.join(unlinked[:10])}")
    counts = store.upsert_customers(customers)
    return _result(counts, customers, rejected + rejected_accounts)


@asset(
    key=["canonical", "invoices"],
    group_name="canonical",
    deps=[AssetKey(["stripe", "invoices"]), AssetKey(["canonical", "customers"])],
    description="Finalized Stripe invoices in minor units; unknown currencies and orphans are dead-lettered.",
)
def canonical_invoices(context: AssetExecutionContext, hub: HubResource):
    store = hub.hub()
    known_customers = {customer.stripe_id for customer in store.customers()}
    invoices, rejected = _map_all(
        context, store, "stripe", "invoice", lambda payload: invoice_from_stripe(payload, known_customers)
    )
    counts = store.upsert_invoices(invoices)
    return _result(counts, invoices, rejected)
