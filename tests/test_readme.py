"""The README documents what the code does: the mapped-fields table and every command and variable."""

from __future__ import annotations

import re
from pathlib import Path

from concord.readme_fields import README, with_fresh_table
from concord.settings import OPTIONAL_VARIABLES, SYSTEM_VARIABLES


def test_mapped_fields_table_matches_the_mapping_code():
    """Input: README.md as committed; regenerating the table from mappings/ must change nothing."""
    text = README.read_text(encoding="utf-8")
    assert with_fresh_table(text) == text, "run `make docs` and commit README.md"


def test_every_environment_variable_and_command_is_documented():
    """Input: the variables the settings module reads and the subcommands of `concord`."""
    text = README.read_text(encoding="utf-8")
    for name in [*OPTIONAL_VARIABLES, *(n for names in SYSTEM_VARIABLES.values() for n in names),
                 "CONCORD_DATABASE_URL", "CONCORD_RATE_LIMIT_DIR", "CONCORD_LOG_FILE", "DAGSTER_HOME"]:
        assert f"`{name}`" in text, name
    from concord.cli import build_parser

    subcommands = re.findall(r"\{([a-z,]+)\}", build_parser().format_usage())[0].split(",")
    for command in subcommands:
        assert f"concord {command}" in text, command
    assert Path(README).parent.joinpath("Makefile").read_text().count("docs:") == 1
