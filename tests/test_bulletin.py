"""通报 paragraphs: exact text for a hand-counted fixture, and numbers that read back as the
report's numbers on the demo city."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.contract.credit_code import check_digit
from metrics.db import connect
from metrics.definitions import METRICS
from metrics.demo.city import generate_city
from metrics.domains import ranking
from metrics.domains import registry as domains
from metrics.domains import targets as T
from metrics.exports import bulletin as B
from metrics.exports.slides import HEADLINE, gather
from metrics.selection import Selection
from metrics.settings import Settings
from metrics.store.ingest import ingest_frames
from metrics.store.versions import Store

# --- the tiny city: four districts, one street and one community each ------------------------

DISTRICTS = [("990101", "甲区"), ("990102", "乙区"), ("990103", "丙区"), ("990104", "丁区")]
def _credit_code(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check digit)."""
    body = f"91990101MA{n:07d}"
    return body + check_digit(body)


def _units() -> pd.DataFrame:
    rows = []
    for code, name in DISTRICTS:
        rows.append((code, name, "district", None))
        rows.append((code + "001", name + "一街道", "street", code))
        rows.append((code + "001001", name + "一社区", "community", code + "001"))
    return pd.DataFrame(rows, columns=["code", "name", "level", "parent_code"])


# Per district: (party_org, party_members) of each organization in 2026-10.
ORGS = {
    "990101": [("单独组建", 3)] * 4 + [("联合组建", 1)] * 4 + [("未组建", 3), ("未组建", 0)],
    "990102": [("单独组建", 3)] * 2 + [("联合组建", 0)] * 4 + [("未组建", 4), ("未组建", 0)],
    "990103": [("联合组建", 0)] * 3 + [("未组建", 5)] * 2,
    "990104": [("联合组建", 0)] + [("未组建", 0)] * 3,
}


def _organizations() -> pd.DataFrame:
    rows, n = [], 0
    for district, orgs in ORGS.items():
        for i, (party_org, members) in enumerate(orgs):
            n += 1
            org = (_credit_code(n), f"测试组织{n}", "非公企业", "商务楼宇", district + "001001", 10,
                   members, party_org, False, True)
            rows.append(("2026-10", *org))
            # September: 甲区 had two fewer 联合组建 organizations.
            if not (district == "990101" and party_org == "联合组建" and i >= 6):
                rows.append(("2026-09", *org))
    return pd.DataFrame(rows, columns=["period", "org_id", "org_name", "org_type", "sector",
                                       "community_code", "employees", "party_members",
                                       "party_org", "instructor", "operating"])


def _t(s: str | None) -> pd.Timestamp | None:
    return pd.Timestamp(s) if s else None


def _issues() -> pd.DataFrame:
    rep, due, resp = "2026-10-05 10:00", "2026-10-08 10:00", "2026-10-05 11:00"
    rows = [
        # id, district, reported, due, responded, closed, resolved, satisfaction
        ("S1", "990101", "2026-09-10 10:00", "2026-09-13 10:00", "2026-09-10 11:00",
         "2026-09-11 10:00", True, "满意"),
        ("A1", "990101", rep, due, resp, "2026-10-06 10:00", True, "满意"),
        ("A2", "990101", rep, due, resp, "2026-10-09 10:00", True, "基本满意"),
        ("A3", "990101", rep, due, resp, None, None, None),
        ("A4", "990101", "2026-10-30 09:00", "2026-11-06 09:00", "2026-10-30 10:00", None,
         None, None),
        ("B1", "990102", rep, due, resp, "2026-10-06 10:00", True, "满意"),
        ("B2", "990102", rep, due, resp, "2026-10-07 10:00", False, "不满意"),
        ("C1", "990103", rep, due, resp, "2026-10-06 10:00", True, "满意"),
        ("C2", "990103", rep, due, resp, None, None, None),
    ]
    return pd.DataFrame({
        "issue_id": [r[0] for r in rows],
        "community_code": [r[1] + "001001" for r in rows],
        "grid_code": [None] * len(rows),
        "source": ["网格员上报"] * len(rows),
        "category": ["物业管理"] * len(rows),
        "reported_at": pd.to_datetime([r[2] for r in rows]),
        "due_at": pd.to_datetime([r[3] for r in rows]),
        "responded_at": pd.to_datetime([r[4] for r in rows]),
        "closed_at": pd.to_datetime([r[5] for r in rows]),
        "resolved": pd.array([r[6] for r in rows], dtype="boolean"),
        "satisfaction": [r[7] for r in rows],
    })


def _pairings() -> tuple[pd.DataFrame, pd.DataFrame]:
    pairings = pd.DataFrame({
        "pairing_id": ["P1", "P2", "P3"],
        "partner_name": ["市直甲机关党委", "驻区乙单位党委", "区直丙局党支部"],
        "partner_level": ["市直", "驻区单位", "区直"],
        "community_code": ["990101001001", "990102001001", "990103001001"],
        "started_on": pd.to_datetime(["2025-01-01", "2026-10-15", "2025-03-01"]),
        "ended_on": pd.to_datetime([None, None, "2026-06-30"]),
    })
    projects = pd.DataFrame({
        "project_id": ["J1", "J2", "J3", "J4"],
        "pairing_id": ["P1", "P1", "P1", "P3"],
        "title": ["甲一社区议事厅", "甲一社区助老食堂", "甲一社区口袋公园", "丙一社区图书角"],
        "kind": ["阵地建设", "民生实事", "民生实事", "阵地建设"],
        "due_on": pd.to_datetime(["2026-06-30", "2026-09-30", "2026-12-31", "2026-05-01"]),
        "completed_on": pd.to_datetime(["2026-06-01", None, None, "2026-04-01"]),
        "status": ["已完成", "推进中", "未启动", "已完成"],
    })
    return pairings, projects


def _checkins() -> pd.DataFrame:
    rows = [(p, code + "001001", 3, 30, 2, 10.0) for p in ("2026-09", "2026-10")
            for code, _ in DISTRICTS]
    return pd.DataFrame(rows, columns=["period", "community_code", "units_reported",
                                       "members_reported", "activities", "service_hours"])


def _targets() -> pd.DataFrame:
    return pd.DataFrame({
        "year": [2026, 2026, 2026, 2026],
        "metric": ["org_coverage_rate", "org_coverage_rate", "close_rate",
                   "pairing_coverage_rate"],
        "unit_code": [None, "990101", None, None],
        "target": [0.70, 0.85, 0.95, 0.90],
    })


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    pairings, projects = _pairings()
    frames = {"units": _units(), "organizations": _organizations(), "issues": _issues(),
              "pairings": pairings, "projects": projects, "checkins": _checkins(),
              "targets": _targets()}
    store = Store(root)
    ingest_frames(store, frames, user="t", settings=Settings())
    con = connect(store, Settings())
    yield con
    con.close()


EXPECTED = {
    "coverage": (
        "2026年10月，全市两新组织党组织覆盖率为66.7%，较上月提高2.7个百分点；4个区县中有1个达到年度目标。"
        "覆盖率排名前两位的是甲区(80.0%)、乙区(75.0%)；排名后两位的是丙区(60.0%)、丁区(25.0%)。"
        "目前仍有4家应建未建组织。"),
    "issues": (
        # One district has no order due: no 办结率, so it neither meets nor misses the target.
        "2026年10月，全市群众诉求办结率为71.4%，较上月下降28.6个百分点；3个区县中有1个达到年度目标。"
        "办结率排名第一的是乙区(100.0%)；排名最后的是丙区(50.0%)。"
        "全市共受理群众诉求8件，按期办结率为57.1%，满意率为80.0%，综合得分为82.0分；"
        "目前仍有2件超期未办结工单。"),
    "pairing": (
        "2026年10月，全市社区结对覆盖率为50.0%，较上月提高25.0个百分点；4个区县中有2个达到年度目标。"
        "结对覆盖率排名前两位的是甲区(100.0%)、乙区(100.0%)；排名后两位的是丙区(0.0%)、丁区(0.0%)。"
        "共建项目4个，已完成2个，项目完成率为50.0%；逾期未完成项目1个。"),
}


@pytest.mark.parametrize("domain", ["coverage", "issues", "pairing"])
def test_tiny_fixture_paragraph_exact(tiny, domain):
    _, data = gather(tiny, Selection.make("city"), settings=Settings(), trend=False)
    assert B.paragraph(data[domain].facts) == EXPECTED[domain]


def test_tiny_fixture_numbers_are_the_reports(tiny):
    """The hand-counted numbers above are what domains.report says."""
    s = Settings()
    sel = Selection.make("city", period="2026-10")
    cov = domains.report(tiny, "coverage", sel, settings=s).frame.iloc[0]
    assert (cov.orgs_total, cov.orgs_with_party_org, cov.gap_should_build) == (27, 18, 4)
    iss = domains.report(tiny, "issues", sel, settings=s).frame.iloc[0]
    assert (iss.reported, iss.due, iss.closed, iss.closed_on_time, iss.open_overdue) == (8, 7, 5, 4, 2)
    assert iss.score == pytest.approx(82.0)
    par = domains.report(tiny, "pairing", sel, settings=s).frame.iloc[0]
    assert (par.communities, par.communities_paired, par.projects, par.projects_done,
            par.projects_overdue) == (4, 2, 4, 2, 1)
    assert B.parse_numbers(EXPECTED["coverage"]) == [2026, 10, 66.7, 2.7, 4, 1, 80.0, 75.0, 60.0,
                                                      25.0, 4]


def test_format_helpers():
    assert B.fmt_rate(0.72349) == "72.3%"
    assert B.fmt_rate(0.0625) == "6.3%"  # half away from zero, as Excel's 0.0% shows it
    assert B.fmt_rate(None) == "—"
    # 72.34% − 71.16% = 1.18 points → 1.2: from the raw values, rounded once (the card's rule),
    # not 72.3 − 71.2 = 1.1 from the two rounded values.
    assert B.change_points(0.7234, 0.7116) == 1.2
    assert B.fmt_change(1.2) == "较上月提高1.2个百分点"
    assert B.fmt_change(-0.4, prev_word="上期") == "较上期下降0.4个百分点"
    assert B.fmt_change(0.0) == "与上月持平"
    assert B.fmt_change(None) == "上月无可比数据"
    assert B.fmt_change(-0.5, kind="score") == "较上月下降0.5分"
    assert B.period_label(24321, 24321) == "2026年10月"
    assert B.period_label(24312, 24321) == "2026年1—10月"
    assert B.period_label(24310, 24321) == "2025年11月至2026年10月"
    assert B.parse_numbers("受理1,234件，办结率96.5%，较上月提高0.3个百分点，前三") == [1234, 96.5, 0.3]


def test_example_sentence_shape():
    f = B.DomainFacts(
        domain="coverage", key="org_coverage_rate", kind="rate", unit_name="全市",
        level_label="区县", first=24321, last=24321, value=0.7234, previous=0.7111,
        ranking=[B.RankedUnit("990102", "东湖区", 0.801, 1, red=True, target=0.7, target_met=True)],
        row={"gap_should_build": 356})
    assert B.paragraph(f) == ("2026年10月，全市两新组织党组织覆盖率为72.3%，较上月提高1.2个百分点；"
                              "1个区县达到年度目标。目前仍有356家应建未建组织。")


def test_units_without_data_neither_meet_nor_miss_the_target():
    """Two streets with a target but no task each (all tasks are the city's): the 通报 says how
    the city stands, not that both streets missed the target, and the 下一步工作 line does not
    say that both met it."""
    streets = [B.RankedUnit("990102001", "光亭街道", None, None, target=0.6, target_met=None),
               B.RankedUnit("990103001", "银塘街道", None, None, target=0.6, target_met=None)]
    f = B.DomainFacts(
        domain="tasks", key="task_completion_rate", kind="rate", unit_name="全市",
        level_label="街道", first=24321, last=24321, value=5 / 11, previous=3 / 11,
        ranking=streets, row={"tasks_overdue": 1})
    text = B.paragraph(f)
    assert "达到年度目标" not in text, text
    step = B.next_step(f)
    assert "达到年度目标" not in step, step
    # One street with data: it alone is judged ("1个街道未达到", not "2个街道中…").
    streets[0].value, streets[0].rank, streets[0].target_met = 0.5, 1, False
    assert "；1个街道未达到年度目标" in B.paragraph(f)
    assert B.next_step(f).startswith("光亭街道(50.0%，低于目标10.0个百分点)")


# --- the demo city: every number of the text is a number of the report ---------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    store = Store(root)
    ingest_frames(store, generate_city(seed=7, scale=0.05), user="t", settings=Settings())
    con = connect(store, Settings())
    yield con
    con.close()


def _expected_numbers(con, domain: str, settings: Settings) -> list[float]:
    """The paragraph's numbers computed straight from domains.report, not from slides."""
    key = HEADLINE[domain]
    kind = METRICS[key].kind
    latest = max(domains.latest(con, d) for d in ("coverage", "issues", "pairing"))
    month = f"{latest // 12}-{latest % 12 + 1:02d}"
    sel = Selection.make("city", period=month)
    city = domains.report(con, domain, sel, settings=settings).frame
    prev = domains.report(con, domain, sel.previous(None), settings=settings).frame
    child_rep = domains.report(con, domain, sel.with_(level="district"), settings=settings)
    child = child_rep.frame
    tg = T.with_targets(con, child, child_rep.as_of).get(key, {})
    ranked = ranking.rank(child, key, n=settings.ranking_n)
    v, p = city[key].iloc[0], prev[key].iloc[0]
    nums = [latest // 12, latest % 12 + 1, B.shown(v, kind), abs(B.change_points(v, p, kind))]
    if nums[-1] == 0:
        nums.pop()
    if tg:
        nums += [len(ranked)]
        met = sum(1 for c in ranked["unit_code"] if tg.get(c, {}).get("target_met"))
        if 0 < met < len(ranked):
            nums.append(met)
    nums += [B.shown(x, kind) for x in ranked[ranked["red"]][key]]
    nums += [B.shown(x, kind) for x in ranked[ranked["black"]][key]]
    row = city.iloc[0]
    if domain == "coverage":
        nums.append(int(row.gap_should_build))
    elif domain == "issues":
        nums += [int(row.reported), B.pct1(row.on_time_rate), B.pct1(row.satisfaction_rate),
                 B.round1(row.score), int(row.open_overdue)]
    else:
        nums += [int(row.projects), int(row.projects_done), B.pct1(row.project_completion_rate),
                 int(row.projects_overdue)]
    if nums[-1] == 0:  # "…已全部清零" / "没有超期未办结工单" say it without a number
        nums.pop()
    return [float(x) for x in nums]


@pytest.mark.parametrize("domain", ["coverage", "issues", "pairing"])
def test_demo_paragraph_numbers_equal_report(demo, domain):
    s = Settings()
    _, data = gather(demo, Selection.make("city"), settings=s, trend=False)
    text = B.paragraph(data[domain].facts)
    assert B.parse_numbers(text) == _expected_numbers(demo, domain, s)
    assert "990" not in text  # codes never appear


def test_as_of_default_and_period(demo):
    _, data = gather(demo, Selection.make("city"), settings=Settings(), trend=False)
    assert isinstance(data["coverage"].as_of, dt.datetime)
    assert data["coverage"].facts.period.endswith("月")
