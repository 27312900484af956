"""What every sync asset does with its push's counts: log them, fail the run on a failed write, report."""

from __future__ import annotations

from dagster import AssetExecutionContext, MaterializeResult

EXAMPLES = 10


def push_result(context: AssetExecutionContext, counts, what: str, responses: dict,
                other_responses: dict[str, dict] | None = None) -> MaterializeResult:
    """The materialization of a push: its counts, example ids when it has them, the target connector's
    response counts, and those of any other connector it used (`other_responses`: key prefix -> counts).

    A run that ignored a failed write is not a success: it raises, and the failed rows stay in the outbox for
    the next run (dead-lettered after their last attempt)."""
    context.log.info(f"{what}: {counts.as_metadata()}")
    for error in counts.errors[:EXAMPLES]:
        context.log.error(error)
    if counts.failed:
        raise RuntimeError(f"{counts.failed} {what} write(s) failed; they stay in the outbox for the next run "
                           "(dead-lettered after the last attempt)")
    metadata = dict(counts.as_metadata())
    examples = getattr(counts, "examples", None)
    if examples is not None and "examples" not in metadata:
        metadata["examples"] = ", ".join(examples[:EXAMPLES]) or "none"
    metadata.update(responses)
    for prefix, stats in (other_responses or {}).items():
        metadata.update({f"{prefix}{key}": value for key, value in stats.items()})
    return MaterializeResult(metadata=metadata)
