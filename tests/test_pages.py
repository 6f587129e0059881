"""The dashboard pages under Streamlit's AppTest (no browser): every page renders, shows the
contract's titles and metric labels, and its KPI cards agree with the CLI for the same selection.

Three data dirs:

* ``small``: the demo city written by ``metrics.datadir.write_sample(seed=7, scale=0.05)``; expected
  numbers come from ``python -m metrics report … --format json`` (run in-process through
  ``metrics.cli.main``), never typed in here.
* ``hand``: a tiny city whose every KPI is counted by hand in the comments below.
* ``empty``: an explicitly named, empty data dir (the friendly empty state).

Two AppTest facts shape the helpers:

* AppTest builds a fresh ``PagesManager`` for every run, so with a ``pages/`` folder every run
  after ``switch_page`` starts in Streamlit's legacy folder routing and executes the page file
  directly (app.py does not run). ``ui.state.current()`` then reuses the ``_frame`` left in
  Session State by the *previous* run — the previous selection. ``run()`` below drops that frame
  first, so ``current()`` takes its documented first-run path (runs app.py, which builds the
  frame and the sidebar). A real server leaves legacy routing after its first run.
* Streamlit's caches are process-wide; every test starts with empty caches so one test's
  cached results cannot hide another's numbers.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from metrics.cli import main as cli_main
from metrics.contract.credit_code import check_digit
from metrics.datadir import write_sample
from metrics.definitions import DOMAIN_KEYS, METRICS
from metrics.selection import month_index, month_str
from metrics.settings import Settings
from metrics.store.ingest import ingest_frames
from metrics.store.versions import Store

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120

PAGES = {  # page file → contract title
    "overview": "总览", "coverage": "两个覆盖", "issues": "问题解决", "pairing": "结对联建",
    "upload": "数据上传", "presentation": "推进会",
}
DOMAIN_PAGES = ("coverage", "issues", "pairing")
DASHBOARD_PAGES = ("overview", *DOMAIN_PAGES)
LABEL_TO_KEY = {m.label: k for k, m in METRICS.items()}
assert len(LABEL_TO_KEY) == len(METRICS), "metric labels must be unique"

RATE_RE = re.compile(r"^(\d{1,3}\.\d%|—)$")
ONE_DECIMAL_RE = re.compile(r"^(-?[\d,]+\.\d|—)$")
COUNT_RE = re.compile(r"^(\d{1,3}(,\d{3})*|—)$")


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def new_app(monkeypatch: pytest.MonkeyPatch, data_dir: Path, **query: str) -> AppTest:
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(data_dir))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def run(at: AppTest) -> AppTest:
    """One script run as a real session would do it (see the module docstring)."""
    if "_frame" in at.session_state:
        del at.session_state["_frame"]
    at.run()
    assert not at.exception, "\n".join(e.value for e in at.exception)
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    run(at)  # the first run registers st.navigation's pages
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
        run(at)
    return at


def kpis(at: AppTest) -> dict[str, str]:
    out = {}
    for m in at.metric:
        assert m.label not in out, f"two cards labelled {m.label}"
        out[m.label] = m.value
    return out


def cli_report(data_dir: Path, domain: str, level: str, *args: str) -> dict:
    """``python -m metrics report DOMAIN --level LEVEL … --format json`` (in-process)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = cli_main(["report", domain, "--level", level, "--data-dir", str(data_dir),
                         "--format", "json", *args])
    assert code == 0
    return json.loads(buf.getvalue())


def cli_row(data_dir: Path, domain: str, unit: str | None = None, *args: str) -> dict:
    """The CLI row of ``unit`` (None: the city) for the selection in ``args``."""
    if unit is None:
        return cli_report(data_dir, domain, "city", *args)["rows"][0]
    level = {6: "district", 9: "street", 12: "community"}[len(unit)]
    rows = cli_report(data_dir, domain, level, "--filter", f"unit={unit}", *args)["rows"]
    hit = [r for r in rows if r["unit_code"] == unit]
    assert len(hit) == 1, rows
    return hit[0]


def expected_cards(shown: dict[str, str], rows: dict[str, dict]) -> dict[str, str]:
    """What each shown card should read, from CLI rows keyed by domain."""
    out = {}
    for label in shown:
        key = LABEL_TO_KEY[label]
        out[label] = format_cli(key, rows[METRICS[key].domain][key])
    return out


def format_cli(key: str, value) -> str:
    """docs/contract/metrics.md's display form, written out here independently of the app's formatter."""
    if value is None:
        return "—"
    kind = METRICS[key].kind
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind in ("hours", "score"):
        return f"{value:.1f}"
    return f"{int(value):,}"


def assert_formats(cards: dict[str, str]) -> None:
    for label, value in cards.items():
        kind = METRICS[LABEL_TO_KEY[label]].kind
        pattern = {"rate": RATE_RE, "hours": ONE_DECIMAL_RE, "score": ONE_DECIMAL_RE}.get(
            kind, COUNT_RE)
        assert pattern.match(value), f"{label}={value!r} is not formatted as a {kind}"


# --- data dirs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("small")
    write_sample(Store(path), seed=7, scale=0.05)
    return path


@pytest.fixture
def empty(tmp_path) -> Path:
    path = tmp_path / "empty"
    path.mkdir()
    return path


# The hand-counted city:
#   990101 甲区: 990101001 东街道 / 990101001001 东一社区; 990101002 西街道 / 990101002001 西一社区
#   990102 乙区: 990102001 南街道 / 990102001001 南一社区
D1, D2 = "990101", "990102"
S1, S2, S3 = "990101001", "990101002", "990102001"
C1, C2, C3 = "990101001001", "990101002001", "990102001001"


def _credit_code(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check digit)."""
    body = f"91990101MA{n:07d}"
    return body + check_digit(body)


def hand_frames() -> dict[str, pd.DataFrame]:
    units = pd.DataFrame([
        (D1, "甲区", "district", None), (D2, "乙区", "district", None),
        (S1, "东街道", "street", D1), (S2, "西街道", "street", D1), (S3, "南街道", "street", D2),
        (C1, "东一社区", "community", S1), (C2, "西一社区", "community", S2),
        (C3, "南一社区", "community", S3),
    ], columns=["code", "name", "level", "parent_code"])
    # October ledger. 6 orgs; party org: #1 #3 #6 (3 → 50.0%); work covered: those + #4's
    # instructor (4 → 66.7%); ≥3 members: #1 #5 #6, standalone done #1 #6 (2/3 → 66.7%).
    # 甲区 (#1–#4): party org 2/4 = 50.0%, work 3/4 = 75.0%, standalone 1/1 = 100.0%.
    orgs = pd.DataFrame([
        ("2026-10", _credit_code(1), "东一科技", "非公企业", "商务楼宇", C1, 30, 3, "单独组建", "否", "是"),
        ("2026-10", _credit_code(2), "东一商贸", "非公企业", "商圈市场", C1, 10, 0, "未组建", "否", "是"),
        ("2026-10", _credit_code(3), "西一协会", "社会组织", "其他", C2, 8, 1, "联合组建", "否", "是"),
        ("2026-10", _credit_code(4), "西一网络", "非公企业", "互联网企业", C2, 12, 1, "未组建", "是", "是"),
        ("2026-10", _credit_code(5), "南一制造", "非公企业", "产业园区", C3, 50, 5, "未组建", "否", "是"),
        ("2026-10", _credit_code(6), "南一物流", "非公企业", "产业园区", C3, 40, 4, "单独组建", "否", "是"),
    ], columns=["period", "org_id", "org_name", "org_type", "sector", "community_code",
                "employees", "party_members", "party_org", "instructor", "operating"])
    # October orders (the newest instant, 10-20 08:00, caps as_of at 10-20 08:00:01):
    # I1 on time, answered in 1 h, 是/满意; I2 answered after 26 h, closed late, 否/不满意;
    # I3 never answered or closed, due 10-06 → overdue; I4 on time, 1 h, 是/基本满意.
    # → 受理量 4, 办结率 3/4, 按期办结率 2/4, 响应率 2/4, 解决率 2/3, 满意率 2/3,
    #   综合得分 100·(0.1·0.5 + 0.45·2/3 + 0.45·2/3) = 65.0, 超期未办结数 1.
    # Only 12345热线 (I1, I3): 受理量 2, 办结率 50.0%, 响应率 50.0%, 解决率 100.0%,
    #   满意率 100.0%, 综合得分 100·(0.05 + 0.45 + 0.45) = 95.0.
    issues = pd.DataFrame([
        ("I1", C1, None, "12345热线", "物业管理", "2026-10-01 08:00:00", "2026-10-03 08:00:00",
         "2026-10-01 09:00:00", "2026-10-02 08:00:00", True, "满意"),
        ("I2", C1, None, "网格员上报", "停车管理", "2026-10-02 08:00:00", "2026-10-04 08:00:00",
         "2026-10-03 10:00:00", "2026-10-05 08:00:00", False, "不满意"),
        ("I3", C2, None, "12345热线", "物业管理", "2026-10-05 08:00:00", "2026-10-06 08:00:00",
         None, None, None, None),
        ("I4", C3, None, "群众来访", "环境卫生", "2026-10-10 08:00:00", "2026-10-30 08:00:00",
         "2026-10-10 09:00:00", "2026-10-20 08:00:00", True, "基本满意"),
    ], columns=["issue_id", "community_code", "grid_code", "source", "category", "reported_at",
                "due_at", "responded_at", "closed_at", "resolved", "satisfaction"])
    for c in ("reported_at", "due_at", "responded_at", "closed_at"):
        issues[c] = pd.to_datetime(issues[c]).astype("datetime64[s]")
    issues["resolved"] = issues["resolved"].astype("boolean")
    # As of 2026-11-01: P1 active (东一), P2 ended in June (南一) → 结对覆盖率 1/3 = 33.3%.
    # Projects: J1 done on time, J2 overdue, J3 not yet due → 完成率 1/3, 按期 1/2, 逾期 1.
    # 乙区 has no project due → 项目按期完成率 is null (—).
    pairings = pd.DataFrame([
        ("P1", "市民政局", "市直", C1, "2026-01-01", None),
        ("P2", "区卫健委", "区直", C3, "2026-03-01", "2026-06-30"),
    ], columns=["pairing_id", "partner_name", "partner_level", "community_code", "started_on",
                "ended_on"])
    for c in ("started_on", "ended_on"):
        pairings[c] = pd.to_datetime(pairings[c]).dt.date
    projects = pd.DataFrame([
        ("J1", "P1", "加装电梯", "民生实事", "2026-09-30", "2026-09-15", "已完成"),
        ("J2", "P1", "党群服务站", "阵地建设", "2026-10-15", None, "推进中"),
        ("J3", "P2", "敬老助餐", "志愿服务", "2026-12-31", None, "未启动"),
    ], columns=["project_id", "pairing_id", "title", "kind", "due_on", "completed_on", "status"])
    for c in ("due_on", "completed_on"):
        projects[c] = pd.to_datetime(projects[c]).dt.date
    # October 双报到: members 10 + 4 = 14, activities 3 + 1 = 4. The August row makes the
    # month list 2026-08…2026-10, so September (no orders at all) can be selected.
    checkins = pd.DataFrame([
        ("2026-08", C1, 1, 6, 1, 2.0),
        ("2026-10", C1, 2, 10, 3, 5.0),
        ("2026-10", C2, 1, 4, 1, 1.5),
    ], columns=["period", "community_code", "units_reported", "members_reported", "activities",
                "service_hours"])
    return {"units": units, "organizations": orgs, "issues": issues, "pairings": pairings,
            "projects": projects, "checkins": checkins}


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hand")
    ingest_frames(Store(path), hand_frames(), user="t", settings=Settings())
    return path


HAND_CITY = {
    "overview": {"组织覆盖率": "50.0%", "工作覆盖率": "66.7%", "办结率": "75.0%",
                 "按期办结率": "50.0%", "满意率": "66.7%", "综合得分": "65.0",
                 "结对覆盖率": "33.3%", "项目完成率": "33.3%",
                 "网格党组织覆盖率": "—", "物业覆盖率": "—",  # no grid or compound snapshot
                 "任务完成率": "—", "任务按期完成率": "—"},  # no task ledger
    "coverage": {"组织覆盖率": "50.0%", "工作覆盖率": "66.7%", "应建尽建率": "66.7%",
                 "两新组织数": "6", "已建党组织数": "3", "工作覆盖数": "4", "应建未建数": "1",
                 "工作未覆盖数": "2"},
    "issues": {"受理量": "4", "办结率": "75.0%", "按期办结率": "50.0%", "响应率": "50.0%",
               "解决率": "66.7%", "满意率": "66.7%", "综合得分": "65.0", "超期未办结数": "1"},
    "pairing": {"结对覆盖率": "33.3%", "项目完成率": "33.3%", "项目按期完成率": "50.0%",
                "结对关系数": "1", "共建项目数": "3", "逾期未完成数": "1", "报到党员数": "14",
                "活动次数": "4"},
}


# --- (a) the small demo store ---------------------------------------------------------------


@pytest.mark.parametrize("page", DASHBOARD_PAGES)
def test_page_renders_with_cli_numbers(monkeypatch, small, page):
    at = open_page(new_app(monkeypatch, small), page)

    assert [t.value for t in at.title] == [PAGES[page]]
    cards = kpis(at)
    assert len(cards) == (12 if page == "overview" else 8)
    assert set(cards) <= set(LABEL_TO_KEY), set(cards) - set(LABEL_TO_KEY)
    if page != "overview":
        assert {METRICS[LABEL_TO_KEY[c]].domain for c in cards} == {page}
    assert_formats(cards)
    rows = {d: cli_row(small, d) for d in (*DOMAIN_PAGES, "grids")}  # city, latest month
    # the task ledger's own default month is that of its newest completion; the page shows
    # the month the extracts cover, as every card does
    rows["tasks"] = cli_row(small, "tasks", None, "--period", at.selectbox(key="period").value)
    assert cards == expected_cards(cards, rows)
    assert [b.label for b in at.button if b.key and b.key.startswith("crumb_")] == ["全市"]


def test_overview_ranks_districts_with_the_task_columns_of_the_cli(monkeypatch, small):
    at = open_page(new_app(monkeypatch, small), "overview")
    assert "任务完成率" in at.selectbox(key="overview_rank").options
    at.selectbox(key="overview_rank").set_value("task_on_time_rate")
    run(at)
    period = at.selectbox(key="period").value
    cli = {r["unit_name"]: r for r in
           cli_report(small, "tasks", "district", "--period", period)["rows"]}
    [table] = [d.value for d in at.dataframe if "榜单" in d.value.columns]
    assert "任务完成率" in table.columns and "任务按期完成率" in table.columns
    assert sorted(table["单位"]) == sorted(cli)
    for _, r in table.iterrows():
        want = cli[r["单位"]]
        assert r["任务完成率"] == format_cli("task_completion_rate", want["task_completion_rate"])
        assert r["任务按期完成率"] == format_cli("task_on_time_rate", want["task_on_time_rate"])
    ranked = [x for x in table["任务按期完成率"] if x != "—"]
    assert ranked == sorted(ranked, key=lambda x: -float(x.rstrip("%")))  # best first
    assert any("逾期未完成重点任务" in m.value for m in at.markdown)


def test_overview_of_a_street_ranks_communities_without_task_columns(monkeypatch, small):
    street = cli_report(small, "coverage", "street")["rows"][0]["unit_code"]
    at = open_page(new_app(monkeypatch, small, unit=street), "overview")
    assert kpis(at)["任务完成率"] == format_cli("task_completion_rate", cli_row(
        small, "tasks", street, "--period", at.selectbox(key="period").value)[
        "task_completion_rate"])
    options = at.selectbox(key="overview_rank").options
    assert "组织覆盖率" in options and "任务完成率" not in options  # tasks stop at the street
    [table] = [d.value for d in at.dataframe if "榜单" in d.value.columns]
    assert "任务完成率" not in table.columns


def test_presentation_page_renders(monkeypatch, small):
    at = open_page(new_app(monkeypatch, small), "presentation")
    assert [t.value for t in at.title] == ["推进会"]


def test_filters_change_numbers_like_the_cli(monkeypatch, small):
    """District, period and source on 问题解决, each compared with the CLI's selection."""
    at = open_page(new_app(monkeypatch, small), "issues")
    districts = [r["unit_code"] for r in cli_report(small, "issues", "district")["rows"]]
    district = districts[-1]
    months = at.selectbox(key="period").options
    assert months == sorted(months, reverse=True) and len(months) >= 3
    period = months[1]  # the month before the latest

    at.selectbox(key="district").set_value(district)
    run(at)
    assert at.query_params.get("unit") == district
    cards = kpis(at)
    assert cards == expected_cards(cards, {"issues": cli_row(small, "issues", district)})
    assert [b.label for b in at.button if b.key and b.key.startswith("crumb_")] == [
        "全市", "› " + cli_row(small, "issues", district)["unit_name"]]

    at.selectbox(key="period").set_value(period)
    run(at)
    cards = kpis(at)
    assert cards == expected_cards(
        cards, {"issues": cli_row(small, "issues", district, "--period", period)})

    at.multiselect(key="source").set_value(["12345热线"])
    run(at)
    filtered = kpis(at)
    expected = cli_row(small, "issues", district, "--period", period, "--filter",
                       "source=12345热线")
    assert filtered == expected_cards(filtered, {"issues": expected})
    assert filtered["受理量"] != cards["受理量"]

    at.multiselect(key="source").set_value(["12345热线", "群众来访"])
    run(at)
    two = kpis(at)
    expected = cli_row(small, "issues", district, "--period", period, "--filter",
                       "source=12345热线", "--filter", "source=群众来访")
    assert two == expected_cards(two, {"issues": expected})


def test_street_and_community_cascade(monkeypatch, small):
    at = open_page(new_app(monkeypatch, small), "coverage")
    streets = cli_report(small, "coverage", "street")["rows"]
    street = streets[0]["unit_code"]
    at.selectbox(key="district").set_value(street[:6])
    run(at)
    assert at.selectbox(key="street").options[0] == "全部"
    at.selectbox(key="street").set_value(street)
    run(at)
    communities = cli_report(small, "coverage", "community", "--filter", f"unit={street}")["rows"]
    assert [c for c in at.selectbox(key="community").options] == [
        "全部", *[r["unit_name"] for r in communities]]
    community = communities[-1]["unit_code"]
    at.selectbox(key="community").set_value(community)
    run(at)
    assert at.query_params.get("unit") == community
    cards = kpis(at)
    assert cards == expected_cards(cards, {"coverage": cli_row(small, "coverage", community)})
    crumbs = [b.label for b in at.button if b.key and b.key.startswith("crumb_")]
    assert crumbs == ["全市", "› " + cli_row(small, "coverage", street[:6])["unit_name"],
                      "› " + streets[0]["unit_name"], "› " + communities[-1]["unit_name"]]
    assert "coverage_rank" not in [s.key for s in at.selectbox]  # no level below
    assert any("已是最细层级" in c.value for c in at.caption)

    # A new district resets street and community.
    other = [r["unit_code"] for r in cli_report(small, "coverage", "district")["rows"]
             if r["unit_code"] != street[:6]][0]
    at.selectbox(key="district").set_value(other)
    run(at)
    assert at.query_params.get("unit") == other
    assert at.selectbox(key="street").value == ""
    assert "community" not in [s.key for s in at.sidebar.selectbox]


def test_breadcrumb_goes_back_up(monkeypatch, small):
    street = cli_report(small, "pairing", "street")["rows"][-1]["unit_code"]
    at = open_page(new_app(monkeypatch, small, unit=street), "pairing")
    crumbs = [b for b in at.button if b.key and b.key.startswith("crumb_")]
    assert len(crumbs) == 3 and crumbs[-1].disabled
    at.button(key="crumb_1").click()
    run(at)
    assert at.query_params.get("unit") == street[:6]
    cards = kpis(at)
    assert cards == expected_cards(cards, {"pairing": cli_row(small, "pairing", street[:6])})
    at.button(key="crumb_0").click()
    run(at)
    assert "unit" not in at.query_params
    cards = kpis(at)
    assert cards == expected_cards(cards, {"pairing": cli_row(small, "pairing")})


def test_deep_link_opens_the_unit_and_period(monkeypatch, small):
    community = cli_report(small, "issues", "community")["rows"][0]["unit_code"]
    latest = cli_report(small, "issues", "city")["to"]  # the latest month
    period = month_str(month_index(latest) - 1)
    at = open_page(new_app(monkeypatch, small, unit=community, period=period), "issues")
    assert at.selectbox(key="period").value == period
    assert at.selectbox(key="community").value == community
    cards = kpis(at)
    assert cards == expected_cards(
        cards, {"issues": cli_row(small, "issues", community, "--period", period)})


def test_range_mode_and_quick_picks(monkeypatch, small):
    at = open_page(new_app(monkeypatch, small), "issues")
    months = at.selectbox(key="period").options
    at.button_group(key="pm").set_value("区间")
    run(at)
    assert at.selectbox(key="to").value == months[0]
    assert at.selectbox(key="from").value == months[2]
    cards = kpis(at)
    assert cards == expected_cards(cards, {"issues": cli_row(
        small, "issues", None, "--from", months[2], "--to", months[0])})

    at.button_group(key="quick").set_value("上月")
    run(at)
    assert at.button_group(key="pm").value == "单月"
    assert at.selectbox(key="period").value == months[1]
    cards = kpis(at)
    assert cards == expected_cards(cards, {"issues": cli_row(
        small, "issues", None, "--period", months[1])})


def test_coverage_and_pairing_filters(monkeypatch, small):
    at = open_page(new_app(monkeypatch, small), "coverage")
    at.multiselect(key="org_type").set_value(["社会组织"])
    run(at)
    cards = kpis(at)
    assert cards == expected_cards(cards, {"coverage": cli_row(
        small, "coverage", None, "--filter", "org_type=社会组织")})

    at.switch_page("pages/pairing.py")
    run(at)
    at.multiselect(key="partner_level").set_value(["区直", "企业"])
    run(at)
    cards = kpis(at)
    assert cards == expected_cards(cards, {"pairing": cli_row(
        small, "pairing", None, "--filter", "partner_level=区直", "--filter",
        "partner_level=企业")})


# --- (b) an empty data dir ------------------------------------------------------------------


@pytest.mark.parametrize("page", [*DASHBOARD_PAGES, "presentation"])
def test_empty_data_dir_shows_friendly_state(monkeypatch, empty, page):
    at = open_page(new_app(monkeypatch, empty), page)
    assert [t.value for t in at.title] == [PAGES[page]]
    assert not at.metric
    assert not at.error
    assert any("上传" in i.value for i in at.info), [i.value for i in at.info]


# --- (c) the hand-counted city --------------------------------------------------------------


@pytest.mark.parametrize("page", DASHBOARD_PAGES)
def test_hand_city_kpis(monkeypatch, hand, page):
    at = open_page(new_app(monkeypatch, hand), page)
    assert [t.value for t in at.title] == [PAGES[page]]
    assert kpis(at) == HAND_CITY[page]


def test_hand_district_selection(monkeypatch, hand):
    at = open_page(new_app(monkeypatch, hand), "coverage")
    assert at.selectbox(key="district").options == ["全市", "甲区", "乙区"]
    at.selectbox(key="district").set_value(D1)
    run(at)
    cards = kpis(at)
    assert {k: cards[k] for k in ("组织覆盖率", "工作覆盖率", "应建尽建率", "两新组织数",
                                  "应建未建数", "工作未覆盖数")} == {
        "组织覆盖率": "50.0%", "工作覆盖率": "75.0%", "应建尽建率": "100.0%",
        "两新组织数": "4", "应建未建数": "0", "工作未覆盖数": "1"}


def test_hand_null_rates_show_dash(monkeypatch, hand):
    # 乙区 has no project due yet: 项目按期完成率 is null; its one pairing has ended: 0.0%.
    at = open_page(new_app(monkeypatch, hand, unit=D2), "pairing")
    cards = kpis(at)
    assert cards["项目按期完成率"] == "—"
    assert cards["结对覆盖率"] == "0.0%"
    assert cards["共建项目数"] == "1"
    # September has no orders: every rate and the score are null, the count is 0.
    at = open_page(new_app(monkeypatch, hand, period="2026-09"), "issues")
    assert kpis(at) == {"受理量": "0", "办结率": "—", "按期办结率": "—", "响应率": "—",
                        "解决率": "—", "满意率": "—", "综合得分": "—", "超期未办结数": "0"}


def test_hand_source_filter(monkeypatch, hand):
    at = open_page(new_app(monkeypatch, hand), "issues")
    at.multiselect(key="source").set_value(["12345热线"])
    run(at)
    assert kpis(at) == {"受理量": "2", "办结率": "50.0%", "按期办结率": "50.0%",
                        "响应率": "50.0%", "解决率": "100.0%", "满意率": "100.0%",
                        "综合得分": "95.0", "超期未办结数": "1"}


# --- bugs -----------------------------------------------------------------------------------


def test_caches_do_not_mix_data_dirs_with_equal_version_ids(monkeypatch, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    frames = hand_frames()
    ingest_frames(Store(first), frames, user="t", settings=Settings())
    frames = hand_frames()
    frames["organizations"].loc[1, "party_org"] = "单独组建"  # 东一商贸 now has a party org
    ingest_frames(Store(second), frames, user="t", settings=Settings())
    assert cli_row(second, "coverage")["orgs_with_party_org"] == 4

    at = open_page(new_app(monkeypatch, first), "coverage")
    assert kpis(at)["已建党组织数"] == "3"
    at = open_page(new_app(monkeypatch, second), "coverage")  # same process, caches kept
    assert kpis(at)["已建党组织数"] == "4"


def test_pairing_page_without_checkins_agrees_with_cli(monkeypatch, tmp_path):
    frames = hand_frames()
    ingest_frames(Store(tmp_path), {k: frames[k] for k in ("units", "pairings", "projects")},
                  user="t", settings=Settings())
    expected = cli_row(tmp_path, "pairing")
    at = open_page(new_app(monkeypatch, tmp_path), "pairing")
    assert not any("还没有数据" in i.value for i in at.info)
    cards = kpis(at)
    assert cards and cards == expected_cards(cards, {"pairing": expected})


# --- the detail area, 口径 and SQL: drawn only when opened -----------------------------------


def charts_on(at: AppTest) -> list[str]:
    """The keys of the charts drawn (the hand city has no boundaries: no map)."""
    return [c.proto.id.rsplit("-", 1)[-1] for c in at.get("plotly_chart")]


def test_detail_area_draws_only_the_open_tab(monkeypatch, hand):
    # Default tab 分项: the two breakdown charts; no table of units, no follow-up list.
    at = open_page(new_app(monkeypatch, hand), "coverage")
    assert [t.label for t in at.tabs] == ["分项", "明细", "红黄绿灯", "应建未建组织", "工作未覆盖组织"]
    assert charts_on(at) == ["rank_coverage", "trend_coverage", "bd_coverage_sector",
                             "bd_coverage_org_type"]
    assert not at.dataframe

    # 明细: the districts with every coverage key, as the CLI has them; the breakdowns are gone.
    at.session_state["coverage_detail"] = "明细"
    run(at)
    assert charts_on(at) == ["rank_coverage", "trend_coverage"]
    [table] = at.dataframe
    cli = {r["unit_code"]: r for r in cli_report(hand, "coverage", "district")["rows"]}
    units = table.value[table.value["unit_code"].notna()]
    assert sorted(units["unit_code"]) == sorted(cli)
    for row in units.to_dict("records"):
        assert row["orgs_total"] == cli[row["unit_code"]]["orgs_total"]
        assert row["org_coverage_rate"] == pytest.approx(
            100 * cli[row["unit_code"]]["org_coverage_rate"])
    # Ranked best first by the ranking metric, the city's 合计 last.
    assert units["org_coverage_rate"].tolist() == sorted(units["org_coverage_rate"], reverse=True)
    assert units["rank"].tolist() == [1, 2]
    total = table.value.iloc[-1]
    assert total["unit_name"] == "合计(全市)"
    assert total["orgs_total"] == cli_row(hand, "coverage")["orgs_total"] == 6


def test_follow_up_tab_lists_the_organizations_and_searches(monkeypatch, hand):
    at = open_page(new_app(monkeypatch, hand, coverage_detail="工作未覆盖组织"), "coverage")
    [lst] = at.dataframe
    # 工作未覆盖: 东一商贸 (no org, no instructor) and 南一制造 (same), nothing else.
    assert sorted(lst.value["单位名称"]) == ["东一商贸", "南一制造"]
    assert "共 2 条" in [c.value for c in at.caption]
    at.text_input(key="find_work_uncovered").input("南一")
    run(at)
    [lst] = at.dataframe
    assert lst.value["单位名称"].tolist() == ["南一制造"]
    assert "共 1 条" in [c.value for c in at.caption]


def test_overdue_orders_tab_on_the_issues_page(monkeypatch, hand):
    at = open_page(new_app(monkeypatch, hand, issues_detail="超期未办结工单"), "issues")
    [lst] = at.dataframe
    assert lst.value["工单编号"].tolist() == ["I3"]  # due 10-06, never closed


def test_definitions_and_sql_open_on_request(monkeypatch, hand):
    at = open_page(new_app(monkeypatch, hand), "issues")
    expanders = [e.label for e in at.expander]
    assert "口径说明" in expanders and "查看 SQL" in expanders  # no login: analyst view
    assert not at.code and not at.dataframe

    at.session_state["issues_defs"] = True
    at.session_state["issues_sql"] = True
    run(at)
    [defs] = at.dataframe
    assert list(defs.value.columns) == ["指标", "口径"]  # no column of English metric keys
    assert defs.value["指标"].tolist() == [METRICS[k].label for k in DOMAIN_KEYS["issues"]]
    assert defs.value["口径"].tolist() == [METRICS[k].definition for k in DOMAIN_KEYS["issues"]]
    [sql] = at.code
    assert "SELECT" in sql.value.upper() and "agg_issues_street" in sql.value


def test_page_run_keys_caches_by_the_same_data_version_as_the_metrics_layer(hand):
    from ui import cache
    from ui.state import Ctx

    store = Store(hand)
    ctx = Ctx(hand, store, Settings(), store.signature(), store.fingerprint(), con=None,
              unit_index=None, months=[], demo=False)
    for domain in DOMAIN_PAGES:
        assert ctx.sig(domain) == cache.table_signature(ctx.store, domain)


def test_long_ranking_chart_shows_both_ends_and_the_table_has_all(monkeypatch, small, tmp_path):
    import shutil

    from metrics.settings import save_settings

    data = tmp_path / "d"
    shutil.copytree(small, data)
    save_settings(data, Settings(ranking_chart_max_units=6))
    # the street with the most communities
    communities = cli_report(data, "coverage", "community")["rows"]
    street = max({r["unit_code"][:9] for r in communities},
                 key=lambda s: sum(r["unit_code"].startswith(s) for r in communities))
    cli = [r for r in communities if r["unit_code"].startswith(street)
           and r["org_coverage_rate"] is not None]
    assert len(cli) > 6
    at = open_page(new_app(monkeypatch, data, unit=street, coverage_detail="明细"), "coverage")
    [chart] = [c for c in at.get("plotly_chart") if c.proto.id.endswith("-rank_coverage")]
    bars = json.loads(chart.proto.spec)["data"][0]["y"]
    ordered = sorted(cli, key=lambda r: (-r["org_coverage_rate"], r["unit_code"]))
    names = [r["unit_name"] for r in ordered]
    assert bars == names[:3] + names[-3:]
    assert (f"共 {len(cli)} 个单位，图中为前 3 名和后 3 名；完整排名见下方“明细”"
            in [c.value for c in at.caption])
    [table] = at.dataframe
    assert len(table.value) >= len(cli)
