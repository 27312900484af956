"""Reconciliation asset and its drift checks.

The asset diffs Stripe's invoices against a fresh read of QuickBooks and writes every mismatch to
the hub; each check reports one kind of drift, so the UI shows which kind failed and the alert
sensor turns each failure into one alert.
"""


from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    asset,
)

from assets.resources import HubResource
from reconciliation.invoice_run import reconcile_invoices
from reconciliation.invoices import CHECKS

RECONCILIATION_KEY = AssetKey(["reconciliation", "invoices"])
EXAMPLES = 10

CHECK_DESCRIPTIONS = {
    "missing_in_quickbooks": "Every finalized Stripe invoice exists in QuickBooks.",
    "extra_in_quickbooks": "QuickBooks has no invoice that Stripe does not have.",
    "amount_matches": "Each QuickBooks invoice total equals the Stripe total (minor units).",
    "currency_matches": "Each QuickBooks invoice is in the Stripe invoice's currency.",
    "status_matches": "Paid in Stripe is paid in QuickBooks, open is open.",
}


def _check_result(name: str, kinds: list[str], mismatches) -> AssetCheckResult:
    hits = [m for m in mismatches if m.kind in kinds]
    examples = [
        f"{m.ids.get('stripe') or '-'} / {m.ids.get('quickbooks') or '-'}"
        + (f": {m.expected} vs {m.actual}" if m.field else "")
        for m in hits[:EXAMPLES]
    ]
    return AssetCheckResult(
        check_name=name,
        passed=not hits,
        severity=AssetCheckSeverity.ERROR,
        metadata={"mismatches": len(hits), "examples": "; ".join(examples) or "none"},
    )


@asset(
    key=RECONCILIATION_KEY,
    group_name="reconciliation",
    deps=[AssetKey(["canonical", "invoices"]), AssetKey(["quickbooks", "invoices"])],
    check_specs=[
        AssetCheckSpec(name, asset=RECONCILIATION_KEY, description=CHECK_DESCRIPTIONS.get(name))
        for name in CHECKS
    ],
    description="Stripe invoices against QuickBooks; every mismatch is written to the hub's mismatches table.",
)
def reconciliation_invoices(context: AssetExecutionContext, hub: HubResource):
    result = reconcile_invoices(hub.hub(), context.run_id)
    by_kind: dict[str, int] = {}
    for mismatch in result.mismatches:
        by_kind[mismatch.kind] = by_kind.get(mismatch.kind, 0) + 1
    context.log.info(
        f"compared {result.compared} Stripe invoices with {result.quickbooks_records} QuickBooks invoices: "
        f"{len(result.mismatches)} mismatch(es) {by_kind or ''}"
    )
    return MaterializeResult(
        metadata={"compared": result.compared, "mismatches": len(result.mismatches), **by_kind},
        check_results=[_check_result(name, kinds, result.mismatches) for name, kinds in CHECKS.items()],
    )
