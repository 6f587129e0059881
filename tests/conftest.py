"""Shared fixtures: default settings and the fixture city (tests/fixtures.py), published once
through the real ingest and opened read-only by every metric test."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.register_assert_rewrite("tests.fixtures")  # readable failures in assert_row

from metrics.settings import Settings  # noqa: E402
from tests import fixtures as F  # noqa: E402


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def city(tmp_path_factory):
    """The fixture city of tests/fixtures.py: ``.store`` and ``.con`` (do not write to it)."""
    store, con = F.open_city(tmp_path_factory.mktemp("city"))
    yield SimpleNamespace(store=store, con=con)
    con.close()
