"""Snapshots of the Salesforce sandbox org: rows of every sObject, the recycle bin, Id counters,
sessions, the request log and the clock, as plain JSON.

Custom fields added through the control API are saved with the rows that carry them.
Decimal -> {"$decimal": "12.34"}, datetime -> {"$datetime": iso}. Id counters are saved, so records
created after a restore never reuse an Id. Not saved: open query cursors and Bulk API jobs (a real
org expires both too, so a client must re-run its query), and the rolling 24-hour API usage.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING

from sandboxes.salesforce.schema import FieldSpec
from sandboxes.salesforce.sobjects import SCHEMAS
from sandboxes.state_codec import decode, encode

if TYPE_CHECKING:
    from sandboxes.salesforce import SalesforceSandbox

FORMAT = "concord-salesforce-sandbox/1"


def snapshot(sandbox: SalesforceSandbox) -> dict:
    state, sessions = sandbox.state, sandbox.sessions
    with state._lock, sessions._lock:
        return encode({
            "format": FORMAT,
            "clock_offset_seconds": sandbox.clock._offset.total_seconds(),
            "custom_fields": {name: [asdict(spec) for spec in specs]
                              for name, specs in state.custom_fields_added().items()},
            "tables": {name: list(table.values()) for name, table in state._tables.items()},
            "deleted_at": state._deleted_at,
            "counters": state._counters,
            "cursor_counter": state._cursor_counter,
            "last_stamp": state._last_stamp,
            "org_created": state.org_created,
            "earliest_deleted_available": state.earliest_deleted_available,
            "requests": state._requests,
            "sessions": {"last_activity": sessions._last_activity, "counter": sessions._counter},
        })


def restore(sandbox: SalesforceSandbox, data: dict) -> None:
    if data.get("format") != FORMAT:
        raise ValueError(f"not a Salesforce sandbox snapshot (format {data.get('format')!r})")
    saved = decode(data)
    state, sessions = sandbox.state, sandbox.sessions
    with state._lock, sessions._lock:
        with sandbox.clock._lock:
            sandbox.clock._offset = timedelta(seconds=saved["clock_offset_seconds"])
        state.schemas = dict(SCHEMAS)
        for sobject, specs in saved.get("custom_fields", {}).items():  # absent from older snapshots
            for spec in specs:
                state.add_custom_field(sobject, FieldSpec(**{**spec, "picklist_values": tuple(
                    spec["picklist_values"])}))
        state._tables = {name: OrderedDict() for name in state._tables}
        state._by_id, state._id15 = {}, {}
        for name, rows in saved["tables"].items():
            for row in rows:
                state._store(name, row)
        state._deleted_at = saved["deleted_at"]
        state._counters = saved["counters"]
        state._cursor_counter = saved["cursor_counter"]
        state._cursors = OrderedDict()
        state._last_stamp = saved["last_stamp"]
        state.org_created = saved["org_created"]
        state.earliest_deleted_available = saved["earliest_deleted_available"]
        state._requests = saved["requests"]
        sessions._last_activity = saved["sessions"]["last_activity"]
        sessions._counter = saved["sessions"]["counter"]
