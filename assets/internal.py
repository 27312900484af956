"""Internal-database source assets: one per configured table (CONCORD_INTERNAL_TABLES), landed raw.

Each table is read after its (watermark, id) cursor and landed in chunks; every chunk's rows and the
cursor that covers them are committed together, so a run that stops half-way resumes after the last
stored row and a large first read never holds the whole table in memory. Rows of the tables Concord
maps (customers, usage_events) are validated by their mapping first: a row that cannot become a
canonical record (a float quantity, a negative one, a missing name) goes to the dead letters with its
reason and the rest land. A watermark read cannot see hard deletes; tables that delete rows should
mark them (a deleted_at column bumps the watermark) instead.
"""

import os
from collections.abc import Callable

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from assets.landing import land_validated
from assets.resources import HubResource, InternalDatabaseResource
from connectors.internal_db import TableStream, parse_streams
from connectors.stripe_validation import Problem
from mappings.canonical import MappingError
from mappings.internal_rows import customer_from_row, usage_from_row

SYSTEM = "internal"
CHUNK_ROWS = 5000
EXAMPLES = 10
# The tables Concord maps into the canonical model, and the mapping that must accept each row.
MAPPED: dict[str, Callable[[dict], object]] = {"customers": customer_from_row, "usage_events": usage_from_row}


def _checker(table: str) -> Callable[[dict], Problem | None]:
    mapping = MAPPED.get(table.rpartition(".")[2])

    def check(row: dict) -> Problem | None:
        if mapping is None:
            return None
        try:
            mapping(row)
        except MappingError as error:
            return Problem(error.field or "", str(error))
        except (TypeError, ValueError) as error:
            return Problem("", str(error))
        return None

    return check


def internal_table_asset(stream: TableStream) -> AssetsDefinition:
    @asset(key=[SYSTEM, stream.table.replace(".", "__")], group_name="sources",
           description=f"Internal table {stream.table}, read after its ({stream.watermark_column}, "
                       f"{stream.id_column}) cursor and landed raw.")
    def _read(context: AssetExecutionContext, hub: HubResource, internal: InternalDatabaseResource):
        store, database = hub.hub(), internal.database()
        since = store.get_cursor(stream.stream_name)
        check = _checker(stream.table)
        totals = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0, "rows": 0}
        examples: list[str] = []
        chunk: list[dict] = []

        def land(cursor) -> None:
            # The cursor is the last row's position: committed with the chunk it covers, never before.
            counts, rejected = land_validated(context, store, SYSTEM, stream.table, chunk, check, deleted=[],
                                              stream=stream.stream_name, cursor=cursor, complete=False,
                                              id_field=stream.id_column)
            for name in ("inserted", "updated", "unchanged"):
                totals[name] += getattr(counts, name)
            totals["rejected"] += len(rejected)
            examples.extend(str(row[stream.id_column]) for row in chunk[: EXAMPLES - len(examples)])
            context.log.info(f"internal {stream.table}: {totals['rows']} rows read so far")
            chunk.clear()

        position = since
        for position, row in database.iter_after_cursor(stream, since):  # noqa: B007 - the last one is used below
            chunk.append(row)
            totals["rows"] += 1
            if len(chunk) >= CHUNK_ROWS:
                land(position)
        if chunk:
            land(position)
        database.dispose()
        return MaterializeResult(metadata={**totals, "mode": "full" if since is None else "incremental",
                                           "examples": ", ".join(examples[:EXAMPLES])})

    return _read


def internal_assets(spec: str | None = None) -> list[AssetsDefinition]:
    """An asset per table that CONCORD_INTERNAL_TABLES names (its default when unset)."""
    return [internal_table_asset(stream) for stream in parse_streams(spec or os.environ.get("CONCORD_INTERNAL_TABLES"))]
