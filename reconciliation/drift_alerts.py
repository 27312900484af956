"""Turn new drift into alerts: one alert per failed check, each mismatch alerted once.

The hub remembers which mismatches were alerted (alerted_at), so a mismatch that stays open across
reconciliation runs is not re-sent, and a run that adds a new one alerts only the new one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from reconciliation.invoices import CHECKS
from reconciliation.notifiers import Alert, Notifier, build_alert, deliver
from store.hub import Hub

log = logging.getLogger("concord.alerts")

_CHECK_OF_KIND = {kind: check for check, kinds in CHECKS.items() for kind in kinds}


@dataclass(frozen=True)
class AlertOutcome:
    alerts: int
    mismatches: int
    failed_notifiers: list[str]


def pending_alerts(hub: Hub) -> list[tuple[Alert, list[int]]]:
    """One alert per check with unalerted mismatches, and the ids of the mismatches it covers."""
    groups: dict[str, list] = {}
    for row in hub.unalerted_mismatches():
        check = _CHECK_OF_KIND.get(row.mismatch.kind, row.mismatch.kind)
        groups.setdefault(check, []).append(row)
    return [
        (build_alert(check, [row.mismatch for row in rows], entity=rows[0].mismatch.entity), [row.id for row in rows])
        for check, rows in sorted(groups.items())
    ]


def send_pending_alerts(hub: Hub, notifiers: list[Notifier]) -> AlertOutcome:
    sent, mismatches, failed = 0, 0, []
    for alert, ids in pending_alerts(hub):
        failed_here = deliver(alert, notifiers)
        failed.extend(failed_here)
        if len(failed_here) == len(notifiers):
            log.error("alert %r reached no notifier; it will be retried", alert.title)
            continue
        hub.mark_alerted(ids)
        sent += 1
        mismatches += len(ids)
    return AlertOutcome(alerts=sent, mismatches=mismatches, failed_notifiers=sorted(set(failed)))
