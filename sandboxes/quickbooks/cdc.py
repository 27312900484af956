"""Change data capture: `GET /v3/company/{realm}/cdc?entities=Customer,Invoice&changedSince=<time>`.

Every object of the named entities changed at or after `changedSince` (full objects; deleted
transactions as {"domain", "status": "Deleted", "Id", "MetaData"}), one QueryResponse per entity in
the order asked, at most 1000 objects in all (the rest are simply not returned, as QuickBooks does;
a client narrows the window). `changedSince` may lie at most 30 days behind the sandbox clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sandboxes.quickbooks import faults
from sandboxes.quickbooks.company import Company
from sandboxes.quickbooks.values import COMPANY_ZONE

MAX_OBJECTS = 1000
MAX_AGE = timedelta(days=30)


def parse_changed_since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError as exc:
        raise faults.invalid_date("changedSince", text) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=COMPANY_ZONE)


def change_data_capture(company: Company, entity_names: str, changed_since: str, now: datetime) -> dict:
    if not entity_names:
        raise faults.required_missing("entities")
    if not changed_since:
        raise faults.required_missing("changedSince")
    since = parse_changed_since(changed_since)
    if since < now - MAX_AGE:
        raise faults.cdc_too_old(changed_since)
    budget = MAX_OBJECTS
    responses = []
    for name in [part.strip() for part in entity_names.split(",") if part.strip()]:
        entity = company.canonical_entity(name)
        if entity is None:
            raise faults.invalid_enumeration("entities", name)
        changed = _changes(company, entity, since)[:budget]
        budget -= len(changed)
        if changed:
            responses.append({entity: changed, "startPosition": 1, "maxResults": len(changed),
                              "totalCount": len(changed)})
        else:
            responses.append({})
    return {"CDCResponse": [{"QueryResponse": responses}]}


def _changes(company: Company, entity: str, since: datetime) -> list[dict]:
    rows = [row for row in company.render_all(entity)
            if datetime.fromisoformat(row["MetaData"]["LastUpdatedTime"]) >= since]
    for tombstone in company.tombstones:
        if tombstone.entity == entity and datetime.fromisoformat(tombstone.deleted) >= since:
            rows.append({"domain": "QBO", "status": "Deleted", "Id": tombstone.id,
                         "MetaData": {"LastUpdatedTime": tombstone.deleted}})
    rows.sort(key=lambda row: datetime.fromisoformat(row["MetaData"]["LastUpdatedTime"]))
    return rows
