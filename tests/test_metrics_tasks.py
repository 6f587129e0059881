"""重点任务督办: every key counted by hand on the fixture city's tasks (tests/fixtures.py), and
checked against an independent reading of the definitions written here in plain Python.

Default period 2026-10: as_of 2026-11-01 00:00, so a date has happened when it is before
2026-11-01; with task_due_soon_days = 7 a task is 临期 when due before 2026-11-08.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from metrics.definitions import DOMAIN_KEYS
from metrics.domains import tasks
from metrics.selection import Selection, SelectionError
from metrics.settings import Settings
from tests import fixtures as F
from tests.fixtures import D_A, D_B, S_EAST, S_SOUTH, S_WEST, assert_row, ts

KEYS = DOMAIN_KEYS["tasks"]
OCT = Selection.make


def task(n, due, done, on_time, overdue, max_days, soon) -> dict:
    return dict(
        tasks=n, tasks_due=due, tasks_done=done, tasks_done_on_time=on_time,
        task_completion_rate=None if n == 0 else done / n,
        task_on_time_rate=None if due == 0 else on_time / due,
        tasks_overdue=overdue, max_overdue_days=max_days, tasks_due_soon=soon,
    )


# October, by hand (T06 and T14 已终止 are in nothing):
#   东街道: T02 (late) T03 (early) T12 (on time)
#   西街道: T04 (overdue 32 days) T05 (due on the as_of date: 临期, not due)
#   南街道: T10 (overdue 1 day)
#   甲区:   its own T01 (on the due date) T13 (2027) + 东街道 + 西街道
#   乙区:   its own T09 (due 11-08: not 临期) + 南街道
#   全市:   every district's + the whole-city T07 (completed on the as_of date: overdue 31 days)
#           T08 (临期, 11-07) T11 (on time)
HAND = {
    S_EAST: task(3, 3, 3, 2, 0, None, 0),
    S_WEST: task(2, 1, 0, 0, 1, 32, 1),
    S_SOUTH: task(1, 1, 0, 0, 1, 1, 0),
    D_A: task(7, 5, 4, 3, 1, 32, 1),
    D_B: task(2, 1, 0, 0, 1, 1, 0),
    None: task(12, 8, 5, 4, 3, 32, 2),
}
OWNERS = {
    "区住建局": task(3, 2, 2, 1, 0, None, 0),         # T01 T02 T13
    "东街道办事处": task(2, 2, 2, 2, 0, None, 0),     # T03 T12
    "西街道办事处": task(1, 1, 0, 0, 1, 32, 0),       # T04
    "区城管局": task(1, 0, 0, 0, 0, None, 1),         # T05 (T06 已终止)
    "市发展改革委": task(2, 2, 1, 1, 1, 31, 0),       # T07 T11, both whole-city
    "市民政局": task(2, 0, 0, 0, 0, None, 1),         # T08 T09
    "南街道办事处": task(1, 1, 0, 0, 1, 1, 0),        # T10
    "区文旅局": task(0, 0, 0, 0, 0, None, 0),         # only T14 已终止: a row of zeros
}


# --- the independent reading of the definitions (plain Python over the fixture rows) ----------


def expected(rows, *, level: str, as_of_date: dt.date, soon_days: int = 7,
             prefix: str = "", kinds=None) -> dict:
    """unit code (None for the city, the owner's name for the owner level) → every key."""
    out: dict = {}

    def day(s):
        return None if s is None else dt.date.fromisoformat(s)

    for (_task_id, _title, kind, owner, unit, due_s, status, comp_s, _p, _a) in rows:
        if not (unit or "").startswith(prefix):
            continue
        if level == "owner":
            key = owner
        elif level == "city":
            key = None
        elif level == "district":
            key = unit[:6] if unit else "-"
        else:
            key = unit if unit and len(unit) == 9 else "-"
        acc = out.setdefault(key, dict(n=0, due=0, done=0, on_time=0, overdue=0, days=[], soon=0))
        if status == "已终止" or (kinds and kind not in kinds):
            continue
        due_on, comp = day(due_s), day(comp_s)
        done = comp is not None and comp < as_of_date
        passed = due_on < as_of_date
        acc["n"] += 1
        acc["due"] += done or passed
        acc["done"] += done
        acc["on_time"] += done and comp <= due_on
        if not done and passed:
            acc["overdue"] += 1
            acc["days"].append((as_of_date - due_on).days)
        if not done and not passed and due_on < as_of_date + dt.timedelta(days=soon_days):
            acc["soon"] += 1
    out.pop("-", None)
    return {k: task(a["n"], a["due"], a["done"], a["on_time"], a["overdue"],
                    max(a["days"]) if a["days"] else None, a["soon"]) for k, a in out.items()}


def report(con, sel, settings=None):
    return tasks.report(con, sel, settings=settings)


def run(con, sel, settings=None):
    return report(con, sel, settings).frame


def test_hand_tables_spell_out_the_rates():
    assert HAND[None]["task_completion_rate"] == 5 / 12
    assert HAND[None]["task_on_time_rate"] == 4 / 8
    assert HAND[S_EAST]["task_on_time_rate"] == 2 / 3
    assert OWNERS["区城管局"]["task_on_time_rate"] is None  # nothing due yet
    assert sum(o["tasks"] for o in OWNERS.values()) == HAND[None]["tasks"]


def test_independent_reading_agrees_with_the_hand_tables():
    nov1 = dt.date(2026, 11, 1)
    for level, codes in (("street", [S_EAST, S_WEST, S_SOUTH]), ("district", [D_A, D_B]),
                         ("city", [None])):
        exp = expected(F.TASK_ROWS, level=level, as_of_date=nov1)
        assert {c: exp[c] for c in codes} == {c: HAND[c] for c in codes}
    assert expected(F.TASK_ROWS, level="owner", as_of_date=nov1) == OWNERS


@pytest.mark.parametrize("level,codes", [
    ("street", [S_EAST, S_WEST, S_SOUTH]),
    ("district", [D_A, D_B]),
    ("city", [None]),
])
def test_every_key_at_every_level_for_october(city, level, codes):
    rep = report(city.con, OCT(level, period="2026-10"))
    df = rep.frame
    assert list(df.columns) == ["unit_code", "unit_name", *KEYS]
    assert [None if pd.isna(c) else c for c in df["unit_code"]] == codes
    for code in codes:
        assert set(HAND[code]) == set(KEYS)
        assert_row(F.row(df, code), HAND[code], f"{level} {code}")
    assert rep.as_of == ts("2026-11-01 00:00:00")


def test_owner_ranking_rows_are_every_owner_by_name(city):
    df = tasks.owner_report(city.con, OCT("city", period="2026-10")).frame
    assert list(df.columns) == ["unit_code", "unit_name", *KEYS]
    assert list(df["unit_code"]) == sorted(OWNERS)
    assert list(df["unit_name"]) == list(df["unit_code"])
    for owner, want in OWNERS.items():
        assert_row(F.row(df, owner), want, owner)


# --- whole-city tasks ---------------------------------------------------------------------------


def test_city_wide_task_counts_in_the_city_total_only(city):
    # T07 T08 T11 have no unit_code: the city has 12 tasks, its districts 7 + 2
    districts = run(city.con, OCT("district", period="2026-10"))
    city_row = F.row(run(city.con, OCT("city", period="2026-10")), None)
    assert int(districts["tasks"].sum()) == 9 and city_row["tasks"] == 12
    assert int(districts["tasks_overdue"].sum()) == 2 and city_row["tasks_overdue"] == 3


def test_city_wide_task_counts_for_its_owner(city):
    r = F.row(tasks.owner_report(city.con, OCT("city", period="2026-10")).frame, "市发展改革委")
    assert (r["tasks"], r["tasks_done"], r["tasks_overdue"]) == (2, 1, 1)


def test_district_task_is_in_no_street_row(city):
    # T01 T13 (甲区) and T09 (乙区) belong to a district, not to a street
    streets = run(city.con, OCT("street", period="2026-10"))
    assert int(streets["tasks"].sum()) == 6
    d = run(city.con, OCT("district", period="2026-10"))
    assert F.row(d, D_A)["tasks"] == F.row(streets, S_EAST)["tasks"] + F.row(streets, S_WEST)["tasks"] + 2


def test_unit_selection_leaves_city_wide_tasks_out(city):
    r = F.row(run(city.con, OCT("city", period="2026-10", unit=D_A)), None)
    assert_row(r, HAND[D_A])
    owners = tasks.owner_report(city.con, OCT("city", period="2026-10", unit=D_A)).frame
    assert "市发展改革委" not in set(owners["unit_code"])  # only whole-city tasks
    assert list(owners["unit_code"]) == sorted(["区住建局", "东街道办事处", "西街道办事处", "区城管局"])


def test_scope_of_a_street_sees_only_its_tasks(city):
    sel = OCT("city", period="2026-10", scope=S_WEST)
    assert_row(F.row(run(city.con, sel), None), HAND[S_WEST])
    assert set(tasks.supervision_list(city.con, sel)["task_id"]) == {"T04", "T05"}


# --- dates against as_of ------------------------------------------------------------------------


def test_task_completed_exactly_on_due_date_is_on_time(city):
    sel = OCT("city", period="2026-10", unit=D_A, filters={"owner": "区住建局"})  # T01 T02 T13
    r = F.row(run(city.con, sel), None)
    assert_row(r, dict(tasks=3, tasks_due=2, tasks_done=2, tasks_done_on_time=1))
    one = [r for r in F.TASK_ROWS if r[0] == "T01"]
    assert expected(one, level="city", as_of_date=dt.date(2026, 11, 1))[None]["tasks_done_on_time"] == 1


def test_terminated_task_is_excluded_everywhere(city):
    sel = OCT("street", period="2026-10", unit=S_SOUTH)  # T06 已终止, due 08-01
    r = F.row(run(city.con, sel), S_SOUTH)
    assert (r["tasks"], r["tasks_overdue"], r["max_overdue_days"]) == (1, 1, 1)  # T10 only
    listed = tasks.supervision_list(city.con, OCT("city", period="2026-10"))
    assert not {"T06", "T14"} & set(listed["task_id"])
    row = F.row(tasks.owner_report(city.con, OCT("city", period="2026-10")).frame, "区文旅局")
    assert_row(row, OWNERS["区文旅局"])


def test_completed_on_the_as_of_date_is_not_done_yet(city):
    r = F.row(run(city.con, OCT("city", period="2026-10", filters={"owner": "市发展改革委"})), None)
    assert_row(r, dict(tasks=2, tasks_done=1, tasks_overdue=1, max_overdue_days=31))
    nov = F.row(run(city.con, OCT("city", period="2026-11", filters={"owner": "市发展改革委"})), None)
    assert_row(nov, dict(tasks_done=2, tasks_done_on_time=1, tasks_overdue=0, max_overdue_days=None))


def test_done_early_counts_in_tasks_due(city):
    r = F.row(run(city.con, OCT("city", period="2026-10", filters={"owner": "东街道办事处"})), None)
    assert_row(r, dict(tasks=2, tasks_due=2, tasks_done=2, tasks_done_on_time=2,
                       task_on_time_rate=1.0))


def test_due_on_the_as_of_date_is_due_soon_not_due(city):
    r = F.row(run(city.con, OCT("city", period="2026-10", filters={"owner": "区城管局"})), None)
    assert_row(r, dict(tasks=1, tasks_due=0, tasks_overdue=0, tasks_due_soon=1,
                       task_on_time_rate=None, task_completion_rate=0.0))


def test_due_soon_window_follows_the_setting(city):
    sel = OCT("city", period="2026-10")
    eight = Settings(task_due_soon_days=8)  # T09 (due 11-08) comes in
    assert F.row(run(city.con, sel, eight), None)["tasks_due_soon"] == 3
    one = Settings(task_due_soon_days=1)  # only T05, due on the as_of date
    assert F.row(run(city.con, sel, one), None)["tasks_due_soon"] == 1
    listed = tasks.due_soon_tasks(city.con, sel, settings=eight)
    assert list(listed["task_id"]) == ["T05", "T08", "T09"]
    assert list(listed["days_left"]) == [0, 6, 7]


def test_explicit_mid_month_as_of_uses_its_date(city):
    sel = OCT("city", period="2026-10", as_of=ts("2026-10-31 12:00:00"))
    got = F.row(run(city.con, sel), None)
    assert_row(got, expected(F.TASK_ROWS, level="city", as_of_date=dt.date(2026, 10, 31))[None])
    # T01 (completed 10-31) is not done yet, and not due yet; T10 (due 10-31) not overdue yet
    assert_row(got, dict(tasks_done=4, tasks_overdue=2, max_overdue_days=31))


def test_september_is_judged_at_october_first(city):
    rep = report(city.con, OCT("city", period="2026-09"))
    df = rep.frame
    assert rep.as_of == ts("2026-10-01 00:00:00")
    assert_row(F.row(df, None), expected(F.TASK_ROWS, level="city",
                                         as_of_date=dt.date(2026, 10, 1))[None])
    # only T11 done; T04 (due 09-30) and T14 (已终止) passed; T07 due 10-01 = as_of date: 临期
    assert_row(F.row(df, None), dict(tasks_done=1, tasks_overdue=1, max_overdue_days=1,
                                     tasks_due_soon=1))


def test_default_period_is_the_month_of_the_newest_completion(city):
    rep = report(city.con, OCT("city"))
    assert rep.last == 2026 * 12 + 10  # T07 completed 2026-11-01


@pytest.mark.parametrize("as_of", ["2026-06-30 00:00:00", "2026-07-01 00:00:00",
                                   "2026-10-15 09:00:00", "2026-11-08 00:00:00",
                                   "2027-04-01 00:00:00"])
@pytest.mark.parametrize("level", ["city", "district", "street", "owner"])
def test_report_matches_the_independent_reading_at_any_as_of(city, level, as_of):
    sel = OCT("city" if level == "owner" else level, period="2026-10", as_of=ts(as_of))
    df = (tasks.owner_report(city.con, sel).frame if level == "owner" else run(city.con, sel))
    exp = expected(F.TASK_ROWS, level=level, as_of_date=ts(as_of).date())
    for code, want in exp.items():
        assert_row(F.row(df, code), want, f"{level} {code} {as_of}")


# --- filters ------------------------------------------------------------------------------------


def test_kind_filter_narrows_every_count(city):
    sel = OCT("district", period="2026-10", filters={"kind": "民生项目"})
    df = run(city.con, sel)
    exp = expected(F.TASK_ROWS, level="district", as_of_date=dt.date(2026, 11, 1),
                   kinds={"民生项目"})
    assert_row(F.row(df, D_A), exp[D_A])  # T02 (done late), T05 (临期)
    assert_row(F.row(df, D_A), dict(tasks=2, tasks_done=1, tasks_done_on_time=0, tasks_due_soon=1))
    assert_row(F.row(df, D_B), dict(tasks=1, tasks_due=0))  # T09 (T14 已终止)


def test_owner_filter_keeps_only_those_owner_rows(city):
    sel = OCT("city", period="2026-10", filters={"owner": ["市民政局", "区城管局"]})
    df = tasks.owner_report(city.con, sel).frame
    assert list(df["unit_code"]) == ["区城管局", "市民政局"]


def test_kind_filter_keeps_every_owner_row(city):
    df = tasks.owner_report(city.con, OCT("city", period="2026-10", filters={"kind": "其他"})).frame
    assert list(df["unit_code"]) == sorted(OWNERS)
    assert dict(zip(df["unit_code"], df["tasks"]))["南街道办事处"] == 1
    assert int(df["tasks"].sum()) == 2  # T10 T13


def test_community_level_is_refused(city):
    with pytest.raises(SelectionError):
        run(city.con, OCT("community", period="2026-10"))


# --- the 督办清单 --------------------------------------------------------------------------------


def test_supervision_list_is_overdue_then_due_soon(city):
    df = tasks.supervision_list(city.con, OCT("city", period="2026-10"))
    assert list(df["task_id"]) == ["T04", "T07", "T10", "T05", "T08"]
    assert list(df["state"]) == ["逾期"] * 3 + ["临期"] * 2
    assert [None if pd.isna(v) else int(v) for v in df["overdue_days"]] == [32, 31, 1, None, None]
    assert [None if pd.isna(v) else int(v) for v in df["days_left"]] == [None, None, None, 0, 6]
    assert list(df["unit_name"]) == ["西街道", "全市", "南街道", "西街道", "全市"]


def test_supervision_list_matches_the_counts_per_street(city):
    df = run(city.con, OCT("street", period="2026-10"))
    for code in (S_EAST, S_WEST, S_SOUTH):
        listed = tasks.supervision_list(city.con, OCT("street", period="2026-10", unit=code))
        r = F.row(df, code)
        assert (listed["state"] == "逾期").sum() == r["tasks_overdue"]
        assert (listed["state"] == "临期").sum() == r["tasks_due_soon"]


def test_overdue_and_due_soon_parts(city):
    sel = OCT("city", period="2026-10")
    assert list(tasks.overdue_tasks(city.con, sel)["task_id"]) == ["T04", "T07", "T10"]
    assert list(tasks.due_soon_tasks(city.con, sel)["task_id"]) == ["T05", "T08"]


def test_ledger_by_status_adds_up_to_the_uploaded_rows(city):
    bd = tasks.by_status(city.con, OCT("city", period="2026-10"))
    assert dict(zip(bd["item"], bd["tasks_listed"])) == {"已完成": 6, "推进中": 4, "未启动": 2, "已终止": 2}


def test_breakdown_by_kind_has_every_key_for_every_kind(city):
    bd = tasks.breakdown(city.con, OCT("city", period="2026-10"), "kind")
    assert list(bd.columns) == ["item", *KEYS]
    assert list(bd["item"]) == ["重点任务", "民生项目", "其他"]
    nov1 = dt.date(2026, 11, 1)
    for kind in ("重点任务", "民生项目", "其他"):
        want = expected(F.TASK_ROWS, level="city", as_of_date=nov1, kinds={kind})[None]
        assert_row(bd[bd["item"] == kind].iloc[0].to_dict(), want, kind)


def test_breakdown_by_owner_is_the_owner_ranking(city):
    sel = OCT("city", period="2026-10")
    bd = tasks.breakdown(city.con, sel, "owner")
    rep = tasks.owner_report(city.con, sel).frame
    assert list(bd["item"]) == list(rep["unit_code"])
    pd.testing.assert_frame_equal(bd[KEYS], rep[KEYS])


def test_empty_ledger_gives_zero_rows_and_null_rates(tmp_path):
    frames = {"units": F.units(), "tasks": F.tasks_frame([])}
    _, con = F.open_city(tmp_path, {"units": frames["units"]})
    df = run(con, OCT("district", period="2026-10"))
    assert list(df["unit_code"]) == [D_A, D_B]
    assert_row(F.row(df, D_A), task(0, 0, 0, 0, 0, None, 0))
    assert tasks.owner_report(con, OCT("city", period="2026-10")).frame.empty
    assert tasks.latest(con) is None
    con.close()


def test_ledger_without_completions_defaults_to_the_last_whole_month(tmp_path):
    rows = [r for r in F.TASK_ROWS if r[7] is None]
    _, con = F.open_city(tmp_path, {"units": F.units(), "tasks": F.tasks_frame(rows)})
    today = dt.date.today()
    assert tasks.latest(con) == today.year * 12 + today.month - 2  # not a due date (a plan)
    con.close()


def test_settings_default_due_soon_window_is_seven_days():
    assert Settings().task_due_soon_days == 7
    assert "task_due_soon_days" in dataclasses.asdict(Settings())
