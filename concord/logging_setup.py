"""Logging for the `concord` command: warnings on the console, everything of Concord's in a file.

Alerts are printed by the console notifier already, so the console handler leaves out the
`concord.alerts` logger; the log file keeps them all (the "log" notifier), for a log shipper.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from concord.settings import STATE_DIR

ALERT_LOGGER = "concord.alerts"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_file_path() -> Path:
    return Path(os.environ.get("CONCORD_LOG_FILE") or STATE_DIR / "concord.log")


def configure_logging(verbose: bool = False) -> Path:
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.addFilter(lambda record: not record.name.startswith(ALERT_LOGGER))
    console.setFormatter(logging.Formatter(FORMAT))

    path = log_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setLevel(logging.INFO)
    to_file.setFormatter(logging.Formatter(FORMAT))

    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root.addHandler(console)
    concord = logging.getLogger("concord")
    concord.setLevel(logging.DEBUG if verbose else logging.INFO)
    concord.addHandler(to_file)
    return path
