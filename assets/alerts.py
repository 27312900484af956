"""The drift alert sensor: new mismatches from failed checks become alerts to finance."""


from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from assets.resources import HubResource, NotifierResource
from reconciliation.drift_alerts import send_pending_alerts


@sensor(
    name="drift_alert_sensor",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Sends one alert per failed drift check (console, log, and email/webhook when configured).",
)
def drift_alert_sensor(context: SensorEvaluationContext, hub: HubResource, notifier: NotifierResource):
    outcome = send_pending_alerts(hub.hub(), notifier.notifiers())
    if outcome.failed_notifiers:
        context.log.warning(f"notifiers that failed: {', '.join(outcome.failed_notifiers)}")
    if outcome.alerts:
        return SkipReason(f"sent {outcome.alerts} alert(s) covering {outcome.mismatches} mismatch(es)")
    return SkipReason("no new drift")
