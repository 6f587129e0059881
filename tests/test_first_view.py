"""What a new user meets first: the month the dashboard opens on (the newest month the monthly
extracts cover, the same one the command line defaults to) and links that ask for what the
data does not have (a notice says what was asked and what is shown instead)."""

from __future__ import annotations

import contextlib
import io
import json

import openpyxl
import pytest

from metrics.cli import main as cli_main
from metrics.db import connect
from metrics.domains import registry
from metrics.selection import month_index
from metrics.settings import Settings
from metrics.store.versions import Store
from tests import march_city as M
from tests.test_pages import (  # noqa: F401  (the autouse fixture empties Streamlit's caches)
    _fresh_streamlit_caches,
    kpis,
    new_app,
    open_page,
)


@pytest.fixture(scope="module")
def march(tmp_path_factory):
    return M.build(tmp_path_factory.mktemp("march"))


def _cli_json(*argv: str) -> dict:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli_main(list(argv)) == 0
    return json.loads(buf.getvalue())


# --- 1. the default month --------------------------------------------------------------------


def test_month_range_stops_at_the_extracts_not_at_a_future_start(march):
    con = connect(Store(march), Settings())
    try:
        first, last = registry.month_range(con)
        assert last == month_index(M.LAST_MONTH)
        assert first == month_index("2026-02")  # February check-ins
        assert registry.default_month(con) == month_index(M.LAST_MONTH)
        assert registry.latest(con, "pairing") == month_index(M.LAST_MONTH)
    finally:
        con.close()


def test_dashboard_opens_on_the_newest_extract_month(monkeypatch, march):
    at = open_page(new_app(monkeypatch, march), "issues")
    period = at.selectbox(key="period")
    assert period.value == M.LAST_MONTH
    assert M.FUTURE_MONTH not in period.options
    assert at.query_params["period"] == M.LAST_MONTH
    cards = kpis(at)
    assert cards["受理量"] == "3"
    assert cards["办结率"] != "—"
    assert not any("暂无" in i.value for i in at.info)


def test_cli_report_and_export_default_to_the_dashboards_month(monkeypatch, march, tmp_path):
    for domain in ("issues", "coverage", "pairing"):
        out = _cli_json("report", domain, "--level", "city", "--data-dir", str(march))
        assert (out["from"], out["to"]) == (M.LAST_MONTH, M.LAST_MONTH), domain
    issues = _cli_json("report", "issues", "--level", "city", "--data-dir", str(march))
    assert issues["rows"][0]["reported"] == 3
    assert issues["as_of"] == "2026-03-31T18:00:01"

    xlsx = tmp_path / "r.xlsx"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli_main(["export", "xlsx", "--out", str(xlsx), "--data-dir", str(march)]) == 0
    ws = openpyxl.load_workbook(xlsx)["问题解决"]
    assert "2026年3月" in ws["A1"].value

    at = open_page(new_app(monkeypatch, march), "overview")
    assert at.selectbox(key="period").value == issues["to"]


def test_pairings_alone_do_not_offer_months_after_today(monkeypatch, tmp_path):
    """Without any monthly extract the months come from pairings and projects that have
    happened: a pairing signed to start next month adds no month."""
    import datetime as dt

    from metrics.selection import index_of, month_str
    from metrics.store.ingest import ingest_frames

    today = dt.date.today()
    frames = M.frames()
    frames["pairings"].loc[1, "started_on"] = today + dt.timedelta(days=40)
    ingest_frames(Store(tmp_path), {k: frames[k] for k in ("units", "pairings", "projects")},
                  user="t", settings=Settings())
    at = open_page(new_app(monkeypatch, tmp_path), "pairing")
    months = at.selectbox(key="period").options
    assert months == ["2025-06"]  # P1's start; P2's is in the future
    assert month_str(index_of(today) + 1) not in months


# --- 6. stale links ----------------------------------------------------------------------------


def _warnings(at) -> list[str]:
    return [w.value for w in at.warning]


@pytest.mark.parametrize("query, asked", [
    ({"period": "2027-01"}, "2027年1月"),
    ({"period": "abc"}, "“abc”无法识别"),
    ({"period": "2026-13"}, "“2026-13”无法识别"),
    ({"pm": "区间", "from": "2025-01", "to": "2025-03"}, "2025年1月"),
])
def test_link_with_a_month_outside_the_data_says_what_is_shown(monkeypatch, march, query, asked):
    at = open_page(new_app(monkeypatch, march, **query), "issues")
    assert at.selectbox(key="period").value == M.LAST_MONTH
    [notice] = _warnings(at)
    assert asked in notice and "现显示 2026年3月" in notice
    assert kpis(at)["受理量"] == "3"


def test_link_with_an_unknown_unit_says_the_city_is_shown(monkeypatch, march):
    at = open_page(new_app(monkeypatch, march, unit="990199"), "coverage")
    [notice] = _warnings(at)
    assert "990199" in notice and "现显示全市" in notice
    assert "unit" not in at.query_params
    crumbs = [b.label for b in at.button if b.key and b.key.startswith("crumb_")]
    assert crumbs == ["全市"]


def test_a_good_link_has_no_notice_and_a_new_choice_retires_one(monkeypatch, march):
    at = open_page(new_app(monkeypatch, march, period="2026-02", unit=M.D1), "issues")
    assert not _warnings(at)
    assert at.selectbox(key="period").value == "2026-02"

    at = open_page(new_app(monkeypatch, march, period="1999-01"), "issues")
    assert _warnings(at)
    at.selectbox(key="period").set_value("2026-02")
    at.run()
    assert not _warnings(at)
