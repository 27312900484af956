"""Run Concord's Dagster jobs in this process, against the instance in DAGSTER_HOME.

Runs land in the same instance the UI reads, so `concord ui` afterwards shows them.
"""

from __future__ import annotations

from dagster import DagsterInstance, ExecuteInProcessResult

# Dagster's per-event console logging drowns the command's own progress lines; warnings still show.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def instance() -> DagsterInstance:
    return DagsterInstance.get()


def run_job(name: str, dagster_instance: DagsterInstance | None = None) -> ExecuteInProcessResult:
    from assets.definitions import defs  # imported late: definitions read the environment set up first

    job = defs.resolve_job_def(name)
    return job.execute_in_process(
        instance=dagster_instance or instance(), run_config=QUIET_RUN_CONFIG, raise_on_error=False
    )


def failure_summary(result: ExecuteInProcessResult) -> str:
    """The failed steps and their error messages, for the command's output."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            lines.append(f"{event.step_key}: {event.step_failure_data.error.message.strip()}")
    return "\n".join(lines) or "run failed (see the Dagster UI for details)"
