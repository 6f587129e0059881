"""Cache warming (ui/warm.py): after ``warm.warm`` the first view of 总览 and of a domain page
computes none of the reports the warming made; with ``warm_cache_on_start`` off nothing is
warmed. Report computations are counted by wrapping ``metrics.domains.registry.report`` (what
every cached report call runs on a miss)."""

from __future__ import annotations

import json

import pytest

from metrics.datadir import write_sample
from metrics.domains import registry
from metrics.store.versions import Store
from tests.test_pages import (  # noqa: F401  (the autouse fixture empties Streamlit's caches)
    _fresh_streamlit_caches,
    new_app,
    open_page,
)
from ui import warm


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("warm")
    write_sample(Store(root), seed=7, scale=0.05)
    return root


@pytest.fixture
def computed(monkeypatch):
    """(domain, level, period_from, period_to) of every report computed (not served from the
    cache) while the test runs."""
    calls: list[tuple] = []
    real = registry.report

    def counting(con, domain, sel, *, settings):
        calls.append((domain, sel.level, sel.period_from, sel.period_to, sel.unit, sel.filters))
        return real(con, domain, sel, settings=settings)

    monkeypatch.setattr(registry, "report", counting)
    return calls


def _first_view(monkeypatch, root, page: str, computed: list) -> list:
    computed.clear()
    open_page(new_app(monkeypatch, root), page)
    return list(computed)


@pytest.mark.parametrize("page", ["overview", "issues"])
def test_first_view_after_warming_computes_none_of_the_warmed_reports(monkeypatch, small,
                                                                      computed, page):
    cold = _first_view(monkeypatch, small, page, computed)
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    computed.clear()
    assert warm.warm(small) > 0
    warmed = set(computed)
    # The warming made the city and district reports of the latest month for every domain.
    assert {(d, lv) for d, lv, *_ in warmed} >= {("issues", "city"), ("issues", "district"),
                                                 ("coverage", "city"), ("coverage", "district")}
    # The cold first view asked for some of them: the test is not vacuous.
    assert warmed & set(cold)
    after = _first_view(monkeypatch, small, page, computed)
    assert not (set(after) & warmed), "warmed reports computed again"
    assert len(after) < len(cold)


def test_page_breakdowns_are_read_from_the_page_files():
    got = warm.page_breakdowns()
    assert got["issues"] == ("category", "source")
    assert set(got) == {"coverage", "issues", "pairing", "grids", "tasks"}


def test_switched_off_warms_nothing(small, computed, tmp_path):
    off = tmp_path / "off"
    off.mkdir()
    for p in small.iterdir():  # the same store, its own settings.json
        if p.name != "settings.json":
            (off / p.name).symlink_to(p)
    (off / "settings.json").write_text(json.dumps({"warm_cache_on_start": False}))
    assert warm.warm(off) == 0
    assert warm.start(off) is False
    assert computed == []


def test_start_warms_in_the_background(small, computed):
    assert warm.start(small) is True
    warm.wait(120)
    assert ("issues", "city") in {(d, lv) for d, lv, *_ in computed}
