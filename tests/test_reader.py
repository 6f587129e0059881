"""``ui.reader.Reader``: one per domain, view and filters in a run; its reads are the metrics
layer's numbers, through the page caches (keyed as the pages always keyed them)."""

from __future__ import annotations

import pandas as pd

from metrics.domains import registry
from metrics.domains.targets import with_targets
from metrics.selection import Selection
from metrics.settings import Settings
from tests.fixtures import S_EAST


def _ctx(city):
    from ui.state import Ctx

    return Ctx(city.store.root, city.store, Settings(), city.store.signature(),
               city.store.fingerprint(), con=city.con, unit_index=None, months=[], demo=False)


def _view(unit=None, period="2026-10"):
    from ui.state import View

    return View(unit, period, period, None)


def test_a_run_has_one_reader_per_domain_view_and_filters(city):
    ctx, view = _ctx(city), _view()
    r = ctx.reader(view, "issues", {"source": ["12345热线"]})
    assert ctx.reader(view, "issues", {"source": ["12345热线"]}) is r
    assert ctx.reader(view, "issues") is not r
    assert ctx.reader(view, "coverage") is not ctx.reader(view, "issues")
    assert ctx.reader(_view(S_EAST), "issues") is not ctx.reader(view, "issues")
    assert r.selection("street") is r.selection("street")  # built once
    assert r.selection() is r.sel and r.sel.filters == (("source", ("12345热线",)),)


def test_reader_reports_are_the_registry_reports(city):
    ctx, view = _ctx(city), _view()
    r = ctx.reader(view, "issues", {"source": ["12345热线"]})
    sel = Selection.make("street", period="2026-10", filters={"source": ["12345热线"]})
    want = registry.report(city.con, "issues", sel, settings=Settings())
    got = r.report("street")
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert (got.as_of, got.first, got.last) == (want.as_of, want.first, want.last)
    assert r.targets("street") == with_targets(city.con, want.frame, want.as_of)
    sept = r.report("street", month=2026 * 12 + 8)
    assert sept.first == sept.last == 2026 * 12 + 8
    prev = r.previous("street")
    assert prev is not None and prev.last == 2026 * 12 + 8
    pd.testing.assert_frame_equal(prev.frame, sept.frame)


def test_no_previous_report_without_an_earlier_ledger(city):
    ctx = _ctx(city)
    # The coverage ledger starts in 2026-08: the month before has none to compare with.
    r = ctx.reader(_view(period="2026-08"), "coverage")
    assert r.report().snapshot == "2026-08"
    assert r.previous() is None
    card = r.card()
    assert card is not None and card.previous is None
    assert ctx.reader(_view(period="2026-10"), "coverage").card().previous is not None


def test_group_reports_and_their_previous_period(city):
    ctx = _ctx(city)
    r = ctx.reader(_view(), "tasks")
    sel = Selection.make("city", period="2026-10")
    want = registry.group_report(city.con, "tasks", "owner", sel, settings=Settings())
    pd.testing.assert_frame_equal(r.group_report("owner").frame, want.frame)
    prev = r.group_report("owner", previous=True)
    assert prev is not None and prev.last == 2026 * 12 + 8
