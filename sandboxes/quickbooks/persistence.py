"""Snapshots of the QuickBooks sandbox: the company, OAuth tokens, requestid replays, webhooks, clock.

`snapshot(sandbox)` returns plain JSON (Decimal -> {"$decimal": "12.34"}, datetime -> {"$datetime": iso});
`restore(sandbox, data)` replaces the live state with it. Id counters and the DocNumber sequence are
saved, so records created after a restore never reuse an id. Throttle windows are not saved: they
last a minute and a restarted process starts them afresh, as a real client sees after a pause.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import TYPE_CHECKING

from sandboxes.http import Response
from sandboxes.quickbooks.company import Record, Tombstone
from sandboxes.quickbooks.webhooks import Endpoint
from sandboxes.state_codec import decode, encode

if TYPE_CHECKING:
    from sandboxes.quickbooks.server import QuickBooksSandbox

FORMAT = "concord-quickbooks-sandbox/1"



def snapshot(sandbox: QuickBooksSandbox) -> dict:
    company, oauth = sandbox.company, sandbox.oauth
    return encode({
        "format": FORMAT,
        "seed": sandbox.seed.seed,
        "clock_offset_seconds": sandbox._clock_offset.total_seconds(),
        "tids": sandbox._tid_count,
        "company": {
            "records": {entity: [vars(record) for record in records.values()]
                        for entity, records in company.records.items()},
            "counters": company.counters,
            "tombstones": [vars(tombstone) for tombstone in company.tombstones],
            "next_doc_number": company.next_doc_number,
            "applied": company.applied,
            "deposited": company.deposited,
        },
        "oauth": {"counter": oauth._counter, "access": oauth.access, "refresh": oauth.refresh, "codes": oauth.codes},
        "refresh_token": sandbox.refresh_token,
        "replays": {key: {"status": answer.status, "headers": answer.headers,
                          "body": base64.b64encode(answer.body).decode("ascii")}
                    for key, answer in sandbox._replays.items()},
        "requests": sandbox._requests,
        "webhooks": {"counter": sandbox.webhooks._counter,
                     "endpoints": [{"url": endpoint.url, "entities": sorted(endpoint.entities or []) or None,
                                    "pending": endpoint.pending + endpoint.held}
                                   for endpoint in sandbox.webhooks.endpoints]},
    })


def restore(sandbox: QuickBooksSandbox, data: dict) -> None:
    """Replace the sandbox's state with a snapshot (called with the state lock held)."""
    if data.get("format") != FORMAT:
        raise ValueError(f"not a QuickBooks sandbox snapshot (format {data.get('format')!r})")
    state = decode(data)
    sandbox._clock_offset = timedelta(seconds=state["clock_offset_seconds"])
    sandbox._tid_count = state["tids"]
    company = sandbox.company
    company.records = {entity: {record["id"]: Record(**record) for record in records}
                       for entity, records in state["company"]["records"].items()}
    company.counters = state["company"]["counters"]
    company.tombstones = [Tombstone(**tombstone) for tombstone in state["company"]["tombstones"]]
    company.next_doc_number = state["company"]["next_doc_number"]
    company.applied = state["company"]["applied"]
    company.deposited = state["company"]["deposited"]
    oauth = sandbox.oauth
    oauth._counter = state["oauth"]["counter"]
    oauth.access, oauth.refresh, oauth.codes = state["oauth"]["access"], state["oauth"]["refresh"], state["oauth"][
        "codes"]
    sandbox.refresh_token = state["refresh_token"]
    sandbox._replays = {key: Response(answer["status"], base64.b64decode(answer["body"]), answer["headers"])
                        for key, answer in state["replays"].items()}
    sandbox._requests = state["requests"]
    hub = sandbox.webhooks
    with hub._lock:
        hub._counter = state["webhooks"]["counter"]
        hub.endpoints = []
    for endpoint in state["webhooks"]["endpoints"]:
        hub.register(endpoint["url"], endpoint["entities"])
        restored: Endpoint = hub.endpoints[-1]
        restored.pending = endpoint["pending"]
