"""Our top-level packages must come from this repository, not from an installed distribution
that happens to share a generic name like `assets` or `connectors`."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["assets", "concord", "connectors", "mappings", "reconciliation", "sandboxes", "store"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_is_imported_from_this_repository(name):
    module = importlib.import_module(name)
    assert Path(module.__file__).resolve().parent == REPO / name


def test_design_card_folders_exist():
    for folder in ["connectors", "assets", "mappings", "reconciliation", "dagster_home", "tests",
                   "sandboxes", "store", "benchmarks"]:
        assert (REPO / folder).is_dir(), folder
    assert (REPO / "workspace.yaml").is_file()
    assert (REPO / "pyproject.toml").is_file()
    assert (REPO / "dagster_home" / "dagster.yaml").is_file()
