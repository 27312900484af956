"""Everything Dagster. Thin: assets call connectors, mappings, store and reconciliation.

Modules here do not use `from __future__ import annotations`: Dagster inspects the `context`
annotation at definition time and rejects it as a string.
"""
