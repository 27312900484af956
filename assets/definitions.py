"""The Concord code location: assets, checks, the sync job and schedule, the alert sensor."""


from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job

from assets.alerts import drift_alert_sensor
from assets.canonical import canonical_customers, canonical_invoices
from assets.internal import internal_assets
from assets.reconcile import reconciliation_invoices
from assets.resources import resources_from_environment
from assets.salesforce_sources import salesforce_opportunities
from assets.sources import (
    quickbooks_customers,
    quickbooks_invoices,
    salesforce_accounts,
)
from assets.stripe_sources import stripe_sources
from assets.sync import sync_quickbooks_customers, sync_quickbooks_invoices
from assets.sync_salesforce import sync_salesforce_accounts, sync_salesforce_products
from assets.sync_stripe import sync_stripe_customers
from assets.sync_usage import sync_stripe_usage

ALL_ASSETS = [
    stripe_sources,
    salesforce_accounts,
    salesforce_opportunities,
    *internal_assets(),
    canonical_customers,
    canonical_invoices,
    sync_quickbooks_customers,
    sync_quickbooks_invoices,
    sync_salesforce_products,
    sync_salesforce_accounts,
    sync_stripe_usage,
    sync_stripe_customers,
    quickbooks_customers,
    quickbooks_invoices,
    reconciliation_invoices,
]

sync_job = define_asset_job(
    "concord_sync",
    selection=AssetSelection.all(),
    description="Read every system, map to canonical, push what QuickBooks lacks, reconcile.",
)

reconcile_job = define_asset_job(
    "concord_reconcile",
    selection=AssetSelection.assets(["quickbooks", "invoices"], ["reconciliation", "invoices"]),
    description="Fresh read of QuickBooks invoices and reconciliation against Stripe; no writes.",
)

sync_schedule = ScheduleDefinition(
    name="concord_sync_every_15_minutes",
    job=sync_job,
    cron_schedule="*/15 * * * *",
    description="The sync and reconciliation, every 15 minutes.",
)

defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[sync_job, reconcile_job],
    schedules=[sync_schedule],
    sensors=[drift_alert_sensor],
    resources=resources_from_environment(),
)
