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
from reconciliation.gaps import settle_gaps
from reconciliation.invoice_run import reconcile_invoices
from reconciliation.invoices import CHECKS

RECONCILIATION_KEY = AssetKey(["reconciliation", "invoices"])
EXAMPLES = 10
# What this reconciliation compares, as the sources name it when they flag a change-log gap.
COMPARED = {("stripe", "invoice"), ("quickbooks", "invoice")}
GAPS_CHECK = "change_log_gaps_reconciled"

CHECK_DESCRIPTIONS = {
    "missing_in_quickbooks": "Every finalized Stripe invoice exists in QuickBooks.",
    "extra_in_quickbooks": "QuickBooks has no invoice that Stripe does not have.",
    "amount_matches": "Each QuickBooks invoice total equals the Stripe total (minor units).",
    "currency_matches": "Each QuickBooks invoice is in the Stripe invoice's currency.",
    "status_matches": "Paid in Stripe is paid in QuickBooks, open is open.",
    GAPS_CHECK: "No source has a change-log gap (a cursor older than the vendor keeps changes) that no "
                "reconciliation has compared since; a warning, as the data may be fine but nobody has checked.",
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
        for name in [*CHECKS, GAPS_CHECK]
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
    settled, still_open = settle_gaps(hub.hub(), COMPARED)
    for gap in settled:
        context.log.info(f"change-log gap settled by this reconciliation: {gap.describe()}")
    for gap in still_open:
        context.log.warning(f"change-log gap not reconciled yet: {gap.describe()}")
    gaps = AssetCheckResult(
        check_name=GAPS_CHECK, passed=not still_open, severity=AssetCheckSeverity.WARN,
        metadata={"settled": len(settled), "open": len(still_open),
                  "examples": "; ".join(gap.describe() for gap in still_open[:EXAMPLES]) or "none"},
    )
    return MaterializeResult(
        metadata={"compared": result.compared, "mismatches": len(result.mismatches), **by_kind,
                  "gaps_settled": len(settled)},
        check_results=[*(_check_result(name, kinds, result.mismatches) for name, kinds in CHECKS.items()), gaps],
    )
