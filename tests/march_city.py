"""A tiny city whose extracts end in March 2026 while a pairing is signed to start on 1 April
and a project falls due in June: the months a page offers must stop at 2026-03.

::

    990101 甲区: 990101001 东街道 / 990101001001 东一社区
    990102 乙区: 990102001 南街道 / 990102001001 南一社区

March: 3 orders (the newest instant 2026-03-31 18:00:00), a ledger of 2 organizations, check-ins
for February and March. P1 has been active since 2025-06; P2 starts 2026-04-01.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from metrics.contract.credit_code import check_digit
from metrics.settings import Settings
from metrics.store.ingest import ingest_frames
from metrics.store.versions import Store

D1, D2 = "990101", "990102"
S1, S2 = "990101001", "990102001"
C1, C2 = "990101001001", "990102001001"
LAST_MONTH = "2026-03"
FUTURE_MONTH = "2026-04"


def _credit_code(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015 check digit)."""
    body = f"91990101MA{n:07d}"
    return body + check_digit(body)


def frames() -> dict[str, pd.DataFrame]:
    units = pd.DataFrame([
        (D1, "甲区", "district", None), (D2, "乙区", "district", None),
        (S1, "东街道", "street", D1), (S2, "南街道", "street", D2),
        (C1, "东一社区", "community", S1), (C2, "南一社区", "community", S2),
    ], columns=["code", "name", "level", "parent_code"])
    orgs = pd.DataFrame([
        ("2026-03", _credit_code(1), "东一科技", "非公企业", "商务楼宇", C1, 30, 3, "单独组建", "否", "是"),
        ("2026-03", _credit_code(2), "南一制造", "非公企业", "产业园区", C2, 50, 5, "未组建", "否", "是"),
    ], columns=["period", "org_id", "org_name", "org_type", "sector", "community_code",
                "employees", "party_members", "party_org", "instructor", "operating"])
    issues = pd.DataFrame([
        ("M1", C1, None, "12345热线", "物业管理", "2026-03-02 08:00:00", "2026-03-04 08:00:00",
         "2026-03-02 09:00:00", "2026-03-03 08:00:00", True, "满意"),
        ("M2", C2, None, "网格员上报", "停车管理", "2026-03-10 08:00:00", "2026-03-12 08:00:00",
         "2026-03-10 10:00:00", "2026-03-11 08:00:00", True, "基本满意"),
        ("M3", C2, None, "群众来访", "环境卫生", "2026-03-31 18:00:00", "2026-04-03 18:00:00",
         None, None, None, None),
    ], columns=["issue_id", "community_code", "grid_code", "source", "category", "reported_at",
                "due_at", "responded_at", "closed_at", "resolved", "satisfaction"])
    for c in ("reported_at", "due_at", "responded_at", "closed_at"):
        issues[c] = pd.to_datetime(issues[c]).astype("datetime64[s]")
    issues["resolved"] = issues["resolved"].astype("boolean")
    pairings = pd.DataFrame([
        ("P1", "市民政局", "市直", C1, "2025-06-01", None),
        ("P2", "区卫健委", "区直", C2, "2026-04-01", None),  # signed, starts next month
    ], columns=["pairing_id", "partner_name", "partner_level", "community_code", "started_on",
                "ended_on"])
    for c in ("started_on", "ended_on"):
        pairings[c] = pd.to_datetime(pairings[c]).dt.date
    projects = pd.DataFrame([
        ("J1", "P1", "加装电梯", "民生实事", "2026-06-30", None, "推进中"),
    ], columns=["project_id", "pairing_id", "title", "kind", "due_on", "completed_on", "status"])
    for c in ("due_on", "completed_on"):
        projects[c] = pd.to_datetime(projects[c]).dt.date
    checkins = pd.DataFrame([
        ("2026-02", C1, 1, 6, 1, 2.0),
        ("2026-03", C1, 2, 10, 3, 5.0),
    ], columns=["period", "community_code", "units_reported", "members_reported", "activities",
                "service_hours"])
    return {"units": units, "organizations": orgs, "issues": issues, "pairings": pairings,
            "projects": projects, "checkins": checkins}


def build(path: Path) -> Path:
    ingest_frames(Store(path), frames(), user="t", settings=Settings())
    return path
