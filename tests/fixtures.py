"""Tiny, hand-countable fixture frames for the metric tests (contract column names).

The city (全市) ::

    310101 甲区
      310101001 东街道
        310101001001 东一社区   grids 310101001001001 东一网格一, 310101001001002 东一网格二
        310101001002 东二社区   grid  310101001002001 东二网格一
      310101002 西街道
        310101002001 西一社区   (no grid; no October orders, no ledger rows, no pairings)
    310102 乙区
      310102001 南街道
        310102001001 南一社区   grid  310102001001001 南一网格一

Every expected number in the tests is counted by hand from the rows below; the comment on each
row says what it is there to exercise.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from metrics.contract.credit_code import check_digit
from metrics.db import connect
from metrics.settings import Settings
from metrics.store.ingest import ingest_frames
from metrics.store.versions import Store

# --- codes ----------------------------------------------------------------------------------

D_A, D_B = "310101", "310102"
S_EAST, S_WEST, S_SOUTH = "310101001", "310101002", "310102001"
C1, C2, C3, C4 = "310101001001", "310101001002", "310101002001", "310102001001"
G11, G12, G21, G41 = "310101001001001", "310101001001002", "310101001002001", "310102001001001"

DISTRICTS = [D_A, D_B]
STREETS = [S_EAST, S_WEST, S_SOUTH]
COMMUNITIES = [C1, C2, C3, C4]
GRIDS = [G11, G12, G21, G41]


def ts(text: str) -> dt.datetime:
    """'2026-10-01 00:00:00' → datetime (tests write instants the way the extracts do)."""
    return dt.datetime.fromisoformat(text)


def units() -> pd.DataFrame:
    rows = [
        (D_A, "甲区", "district", None),
        (D_B, "乙区", "district", None),
        (S_EAST, "东街道", "street", D_A),
        (S_WEST, "西街道", "street", D_A),
        (S_SOUTH, "南街道", "street", D_B),
        (C1, "东一社区", "community", S_EAST),
        (C2, "东二社区", "community", S_EAST),
        (C3, "西一社区", "community", S_WEST),
        (C4, "南一社区", "community", S_SOUTH),
        (G11, "东一网格一", "grid", C1),
        (G12, "东一网格二", "grid", C1),
        (G21, "东二网格一", "grid", C2),
        (G41, "南一网格一", "grid", C4),
    ]
    return pd.DataFrame(rows, columns=["code", "name", "level", "parent_code"])


UNIT_NAMES = dict(zip(units()["code"], units()["name"]))

# --- issues ---------------------------------------------------------------------------------

ISSUE_COLUMNS = ["issue_id", "community_code", "grid_code", "source", "category", "reported_at",
                 "due_at", "responded_at", "closed_at", "resolved", "satisfaction"]

# (id, community, grid, source, category, reported_at, due_at, responded_at, closed_at,
#  resolved, satisfaction). With the default October as_of 2026-11-01 00:00:00:
ISSUE_ROWS = [
    # September (the previous month)
    ("S01", C4, G41, "12345热线", "物业管理", "2026-09-30 23:59:59", "2026-10-02 00:00:00",
     "2026-10-01 10:00:00", "2026-10-01 11:59:59", "是", "满意"),       # last second of Sept; 12 h
    ("S02", C3, None, "网格员上报", "停车管理", "2026-09-10 10:00:00", "2026-09-12 10:00:00",
     "2026-09-10 11:00:00", "2026-09-11 10:00:00", "是", "满意"),       # 西一's only order; 24 h
    # October
    ("O01", C1, G11, "网格员上报", "物业管理", "2026-10-01 00:00:00", "2026-10-05 00:00:00",
     "2026-10-02 00:00:00", "2026-10-05 00:00:00", "是", "满意"),       # first instant; responded
    #                                        exactly 24 h after; closed exactly at due_at; 96 h
    ("O02", C1, G11, "12345热线", "物业管理", "2026-10-02 08:00:00", "2026-10-04 08:00:00",
     "2026-10-03 08:00:01", "2026-10-04 08:00:01", "否", "不满意"),     # responded 24 h + 1 s
    #                                        (late); closed due_at + 1 s (late); 48 h + 1 s
    ("O03", C1, G12, "12345热线", "停车管理", "2026-10-10 10:00:00", "2026-11-01 00:00:00",
     "2026-10-10 12:00:00", None, None, None),                          # due exactly at as_of
    ("O04", C1, None, "群众来访", "停车管理", "2026-10-20 10:00:00", "2026-10-25 10:00:00",
     None, "2026-11-01 00:00:00", "是", "满意"),                        # closed exactly at as_of
    #                                        (not closed → overdue); never responded, deadline passed
    ("O05", C2, G21, "网格员上报", "矛盾纠纷", "2026-10-31 23:00:00", "2026-11-03 23:00:00",
     None, None, None, None),                                           # response deadline after as_of
    ("O06", C2, None, "部门交办", "物业管理", "2026-10-15 08:00:00", "2026-10-20 08:00:00",
     "2026-10-15 09:00:00", "2026-10-18 08:00:00", "是", "基本满意"),   # on time; 基本满意; 72 h
    ("O07", C4, G41, "12345热线", "矛盾纠纷", "2026-10-05 00:00:00", "2026-10-06 00:00:00",
     "2026-10-05 23:59:59", "2026-10-07 00:00:00", None, "不满意"),     # late; resolved not given; 48 h
    # November: the running month of the extract (newest timestamp 2026-11-15 10:00:00)
    ("N01", C1, G11, "12345热线", "物业管理", "2026-11-10 08:00:00", "2026-11-12 08:00:00",
     "2026-11-10 09:00:00", "2026-11-12 08:00:00", "是", "满意"),       # 48 h
    ("N02", C2, None, "群众来访", "停车管理", "2026-11-15 10:00:00", "2026-11-20 10:00:00",
     None, None, None, None),                                           # the newest timestamp
    ("N03", C1, G12, "网格员上报", "停车管理", "2026-11-14 10:00:01", "2026-11-15 10:00:01",
     None, None, None, None),                                           # due and response deadline
    #                                        exactly at the cap (not yet)
    ("N04", C2, G21, "网格员上报", "矛盾纠纷", "2026-11-14 10:00:00", "2026-11-15 10:00:00",
     None, None, None, None),                                           # due and deadline 1 s before cap
]

ISSUES_CAP = ts("2026-11-15 10:00:01")


def issues_frame(rows=None) -> pd.DataFrame:
    df = pd.DataFrame(rows if rows is not None else ISSUE_ROWS, columns=ISSUE_COLUMNS)
    for c in ("reported_at", "due_at", "responded_at", "closed_at"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[s]")
    df["resolved"] = df["resolved"].map({"是": True, "否": False, None: None}).astype("boolean")
    return df


# --- organizations --------------------------------------------------------------------------

def credit_code(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check digit) numbered n."""
    body = f"91310101MA{n:07d}"
    return body + check_digit(body)


ORG_COLUMNS = ["period", "org_id", "org_name", "org_type", "sector", "community_code",
               "employees", "party_members", "party_org", "instructor", "operating"]

# (period, n, name, org_type, sector, community, employees, party_members, party_org,
#  instructor, operating)
ORG_ROWS = [
    # 2026-08 ledger (there is no 2026-09 ledger)
    ("2026-08", 1, "东一科技", "非公企业", "商务楼宇", C1, 50, 3, "未组建", "否", "是"),
    ("2026-08", 4, "东二网络", "非公企业", "互联网企业", C2, 30, 5, "单独组建", "否", "是"),
    # 2026-10 ledger
    ("2026-10", 1, "东一科技", "非公企业", "商务楼宇", C1, 50, 3, "单独组建", "否", "是"),  # 3 members: eligible, done
    ("2026-10", 2, "东一商贸", "非公企业", "商务楼宇", C1, 20, 2, "未组建", "是", "是"),    # 2 members: not eligible; instructor only
    ("2026-10", 3, "东一协会", "社会组织", "其他", C1, 10, 3, "联合组建", "否", "是"),      # 联合组建: party org, not standalone → gap
    ("2026-10", 4, "东二网络", "非公企业", "互联网企业", C2, 30, 5, "未组建", "否", "是"),  # both gaps
    ("2026-10", 5, "东二市场服务社", "社会组织", "商圈市场", C2, 8, 0, "未组建", "否", "是"),  # work uncovered
    ("2026-10", 6, "东二空壳公司", "非公企业", "商务楼宇", C2, 100, 10, "未组建", "否", "否"),  # operating=否: in nothing
    ("2026-10", 7, "南一制造", "非公企业", "产业园区", C4, 15, 4, "单独组建", "是", "是"),
    ("2026-10", 8, "南一骑手站", "社会组织", "新就业群体", C4, 5, 1, "联合组建", "否", "是"),
]


def org_id(n: int) -> str:
    return credit_code(n)


def organizations_frame(rows=None) -> pd.DataFrame:
    out = []
    for period, n, name, typ, sector, comm, emp, pm, po, instr, op in rows or ORG_ROWS:
        out.append((period, credit_code(n), name, typ, sector, comm, emp, pm, po, instr, op))
    return pd.DataFrame(out, columns=ORG_COLUMNS)


# --- pairings, projects, checkins -----------------------------------------------------------

PAIRING_COLUMNS = ["pairing_id", "partner_name", "partner_level", "community_code",
                   "started_on", "ended_on"]
# With the default October as_of (2026-11-01 00:00, date 2026-11-01):
PAIRING_ROWS = [
    ("P1", "省商务厅机关党委", "省直", C1, "2026-01-10", None),          # active
    ("P2", "某某科技公司", "企业", C1, "2026-11-01", None),              # starts on the as_of date: not yet
    ("P3", "市民政局", "市直", C2, "2025-05-01", "2026-10-31"),          # ended the day before: not active
    ("P4", "驻区某单位", "驻区单位", C2, "2025-06-01", "2026-11-01"),    # ends on the as_of date: active
    ("P5", "区卫健委", "区直", C4, "2026-10-31", None),                  # started the day before: active
    ("P6", "区住建局", "区直", C1, "2026-02-01", None),                  # C1's second active pairing
]

PROJECT_COLUMNS = ["project_id", "pairing_id", "title", "kind", "due_on", "completed_on", "status"]
PROJECT_ROWS = [
    ("J1", "P1", "加装电梯", "民生实事", "2026-10-31", "2026-10-31", "已完成"),   # done exactly on due_on
    ("J2", "P1", "党群服务站", "阵地建设", "2026-10-15", "2026-10-20", "已完成"),  # done late
    ("J3", "P1", "敬老助餐", "志愿服务", "2026-12-31", "2026-10-10", "已完成"),   # done, not yet due
    ("J4", "P3", "产业帮扶", "产业发展", "2026-09-30", None, "推进中"),          # inactive pairing; overdue
    ("J5", "P4", "楼道整治", "其他", "2026-11-01", None, "未启动"),              # due on as_of date: not yet
    ("J6", "P5", "停车改造", "民生实事", "2026-08-01", None, "已终止"),          # terminated: nowhere
    ("J7", "P2", "读书角", "志愿服务", "2026-10-01", "2026-11-01", "已完成"),     # completed on as_of date:
    #                                                                            not done yet → overdue
]

CHECKIN_COLUMNS = ["period", "community_code", "units_reported", "members_reported",
                   "activities", "service_hours"]
CHECKIN_ROWS = [
    ("2026-08", C1, 3, 20, 2, 10.0),
    ("2026-08", C2, 1, 5, 1, 2.0),
    ("2026-09", C1, 4, 25, 3, 12.5),
    ("2026-09", C2, 2, 8, 0, 0.0),
    ("2026-10", C1, 5, 30, 4, None),   # hours not given
    ("2026-10", C4, 2, 6, 5, 7.5),     # (C2 sent no October row)
]


def pairings_frame() -> pd.DataFrame:
    df = pd.DataFrame(PAIRING_ROWS, columns=PAIRING_COLUMNS)
    for c in ("started_on", "ended_on"):
        df[c] = pd.to_datetime(df[c]).dt.date
    return df


def projects_frame() -> pd.DataFrame:
    df = pd.DataFrame(PROJECT_ROWS, columns=PROJECT_COLUMNS)
    for c in ("due_on", "completed_on"):
        df[c] = pd.to_datetime(df[c]).dt.date
    return df


def checkins_frame() -> pd.DataFrame:
    return pd.DataFrame(CHECKIN_ROWS, columns=CHECKIN_COLUMNS)


# --- targets --------------------------------------------------------------------------------

TARGET_COLUMNS = ["year", "metric", "unit_code", "target"]
TARGET_ROWS = [
    (2026, "close_rate", None, 0.8),        # city
    (2026, "close_rate", D_A, 0.9),         # 甲区
    (2026, "close_rate", S_EAST, 0.7),      # 东街道
    (2026, "org_coverage_rate", None, 0.5),
    (2026, "org_coverage_rate", S_SOUTH, 0.6),
    (2025, "close_rate", None, 0.3),
    (2027, "close_rate", None, 0.99),
]


def targets_frame() -> pd.DataFrame:
    return pd.DataFrame(TARGET_ROWS, columns=TARGET_COLUMNS)


# --- grids and compounds (网格与小区) --------------------------------------------------------

GRID_COLUMNS = ["period", "grid_code", "grid_party_org", "grid_leader", "fulltime_workers",
                "parttime_workers", "households"]
# Snapshots for 2026-08 and 2026-10 (none for 2026-09); 南一网格一 is missing from October's.
GRID_ROWS = [
    ("2026-08", G11, "网格党小组", "是", 1, 1, 290),
    ("2026-08", G12, "未建", "否", 0, 0, 190),
    ("2026-08", G21, "未建", "否", 0, 0, 150),
    ("2026-08", G41, "网格党支部", "是", 2, 0, 0),      # no households: 0 per worker, not null
    ("2026-10", G11, "网格党支部", "是", 1, 2, 300),
    ("2026-10", G12, "网格党小组", "否", 0, 1, 200),    # a 党小组 covers the grid; one 兼职 staffs it
    ("2026-10", G21, "未建", None, 0, 0, 150),          # leader empty → 否; no 网格员: per worker null
]

COMPOUND_COLUMNS = ["period", "compound_id", "compound_name", "community_code", "households",
                    "party_members_resident", "party_org", "property_service", "owners_committee",
                    "model_compound", "heads_area", "heads_group", "heads_neighbor"]
# Snapshots for 2026-09 and 2026-10 (a month other than the grids').
COMPOUND_ROWS = [
    ("2026-09", "X1", "东一花园", C1, 400, 5, "楼栋党小组", "红色物业", "否", "否", 2, 8, 30),
    ("2026-09", "X4", "东二小区", C2, 300, 2, "未建", "专业物业", "是", "否", 1, 5, 25),
    ("2026-09", "X6", "南一家园", C4, 500, 10, "小区党支部", "无", "否", "否", 3, 10, 45),
    ("2026-10", "X1", "东一花园", C1, 400, 5, "小区党支部", "红色物业", "是", "是", 2, 8, 40),
    ("2026-10", "X2", "东一新村", C1, 120, 3, "楼栋党小组", "自管", "否", "否", 1, 3, 12),
    #   exactly 3 members: should build; a 楼栋党小组 is not a 党支部 → 应建未建
    ("2026-10", "X3", "东一公寓", C1, 0, 0, "未建", "无", None, None, 0, 0, 0),
    #   not yet occupied: no members, no 物业; empty booleans → 否
    ("2026-10", "X4", "东二小区", C2, 300, 2, "小区党支部", "专业物业", "是", "否", 1, 5, 25),
    #   2 members: a branch anyway, but not eligible (not in 应建)
    ("2026-10", "X5", "东二老楼", C2, 80, 4, "未建", "无", "否", "否", 1, 2, 5),  # 应建未建, 无物业
    ("2026-10", "X6", "南一家园", C4, 500, 10, "小区党支部", "专业物业", "是", "是", 3, 10, 50),
]


def grids_frame(rows=None) -> pd.DataFrame:
    return pd.DataFrame(rows if rows is not None else GRID_ROWS, columns=GRID_COLUMNS)


def compounds_frame(rows=None) -> pd.DataFrame:
    return pd.DataFrame(rows if rows is not None else COMPOUND_ROWS, columns=COMPOUND_COLUMNS)
# --- tasks (重点任务督办) ----------------------------------------------------------------------

TASK_COLUMNS = ["task_id", "title", "kind", "owner", "unit_code", "due_on", "status",
                "completed_on", "progress", "acceptance"]
# With the default October as_of (date 2026-11-01) and task_due_soon_days = 7 (临期: due before
# 2026-11-08). unit_code None = a whole-city task.
TASK_ROWS = [
    ("T01", "老旧小区改造", "重点任务", "区住建局", D_A, "2026-10-31", "已完成", "2026-10-31", 1.0,
     "完成验收并公示"),                                         # completed exactly on due date
    ("T02", "加装电梯", "民生项目", "区住建局", S_EAST, "2026-10-15", "已完成", "2026-10-20", None,
     "电梯投入使用"),                                           # done late
    ("T03", "党群服务中心提升", "重点任务", "东街道办事处", S_EAST, "2026-12-31", "已完成",
     "2026-10-10", None, "通过区级验收"),                       # done early: due (done), on time
    ("T04", "背街小巷整治", "重点任务", "西街道办事处", S_WEST, "2026-09-30", "推进中", None, 0.6,
     "整治清单全部销号"),                                       # overdue 32 days
    ("T05", "社区食堂", "民生项目", "区城管局", S_WEST, "2026-11-01", "未启动", None, None,
     "食堂开业运营"),                                           # due on the as_of date: not yet; 临期 0
    ("T06", "停车场建设", "重点任务", "区城管局", S_SOUTH, "2026-08-01", "已终止", None, None,
     "停车场启用"),                                             # terminated: nowhere
    ("T07", "营商环境提升行动", "重点任务", "市发展改革委", None, "2026-10-01", "已完成",
     "2026-11-01", None, "评估报告印发"),                       # city-wide; completed on the as_of
    #                                                            date: not done yet → overdue 31
    ("T08", "一老一小服务", "民生项目", "市民政局", None, "2026-11-07", "推进中", None, 0.8,
     "服务站点全覆盖"),                                         # city-wide; 临期, last day (6)
    ("T09", "养老服务站", "民生项目", "市民政局", D_B, "2026-11-08", "推进中", None, None,
     None),                                                     # due 11-08: just outside 临期
    ("T10", "网格员队伍建设", "其他", "南街道办事处", S_SOUTH, "2026-10-31", "推进中", None, None,
     "专职网格员配齐"),                                         # overdue 1 day
    ("T11", "数字城管平台", "重点任务", "市发展改革委", None, "2026-06-30", "已完成", "2026-06-30",
     1.0, "平台上线"),                                          # city-wide; on time
    ("T12", "垃圾分类示范", "重点任务", "东街道办事处", S_EAST, "2026-10-20", "已完成",
     "2026-10-18", None, "达标验收"),                           # on time
    ("T13", "口袋公园", "其他", "区住建局", D_A, "2027-03-31", "未启动", None, None,
     "公园开放"),                                               # not due, not 临期
    ("T14", "文化惠民演出", "民生项目", "区文旅局", D_B, "2026-09-01", "已终止", None, None,
     "演出场次完成"),                                           # owner with only a terminated task
]


def tasks_frame(rows=None) -> pd.DataFrame:
    df = pd.DataFrame(rows if rows is not None else TASK_ROWS, columns=TASK_COLUMNS)
    for c in ("due_on", "completed_on"):
        df[c] = pd.to_datetime(df[c]).dt.date
    df["progress"] = df["progress"].astype("float64")
    return df


# --------------------------------------------------------------------------------------------


def city_frames() -> dict[str, pd.DataFrame]:
    """Every table of the fixture city."""
    return {
        "units": units(),
        "organizations": organizations_frame(),
        "issues": issues_frame(),
        "pairings": pairings_frame(),
        "projects": projects_frame(),
        "checkins": checkins_frame(),
        "targets": targets_frame(),
        "grids": grids_frame(),
        "compounds": compounds_frame(),
        "tasks": tasks_frame(),
    }


# --- building a store -----------------------------------------------------------------------


def build_store(path: Path, frames: dict[str, pd.DataFrame], settings: Settings | None = None
                ) -> Store:
    """Publish ``frames`` through the real ingest (validated like an upload)."""
    store = Store(path)
    ingest_frames(store, frames, user="t", settings=settings or Settings())
    return store


def open_city(path: Path, frames: dict[str, pd.DataFrame] | None = None,
              settings: Settings | None = None):
    """(store, connection) over the published frames."""
    settings = settings or Settings()
    store = build_store(path, frames or city_frames(), settings)
    return store, connect(store, settings)


def row(df: pd.DataFrame, code: str | None) -> dict:
    """The report row of ``code`` (None: the city row) as a dict."""
    if code is None:
        hit = df[df["unit_code"].isna()]
    else:
        hit = df[df["unit_code"] == code]
    assert len(hit) == 1, f"expected one row for {code!r}, got {len(hit)}"
    return hit.iloc[0].to_dict()


def assert_row(actual: dict, expected: dict, label: str = "") -> None:
    """Each expected key: None = null; int = that exact count; float = that value (1e-12)."""
    for key, want in expected.items():
        got = actual[key]
        where = f"{label} {key}"
        if want is None:
            assert got is None or pd.isna(got), f"{where}: expected null, got {got!r}"
        elif isinstance(want, int):
            assert not pd.isna(got) and int(got) == got == want, f"{where}: {got!r} != {want!r}"
        else:
            assert not pd.isna(got), f"{where}: expected {want!r}, got null"
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), f"{where}: {got!r} != {want!r}"
