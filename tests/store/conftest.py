"""A migrated, empty hub per test, on each backend of the shared `db_url` fixture."""

from __future__ import annotations

import pytest

from store.hub import Hub


@pytest.fixture
def hub(db_url):
    hub = Hub(db_url)
    hub.migrate()
    yield hub
    hub.dispose()
