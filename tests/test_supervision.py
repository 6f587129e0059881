"""督办与预警 on hand-counted data: traffic lights (exactly at the thresholds), yellow running
into red, 连续后进 over three months, 进步/退步, 失分原因 and the 通报 sentences.

The three-month city (target 组织覆盖率 80% for 2026, yellow threshold 5 points, 3 months)::

    street          Aug            Sep            Oct
    东街道 (20 orgs) 16 = 80.0% 绿   16 = 80.0% 绿   16 = 80.0% 绿 (exactly at target)
    西街道 (25 orgs) 19 = 76.0% 黄   19 = 76.0% 黄   19 = 76.0% 黄 → 红 (third yellow running)
    南街道 (20 orgs) 16 = 80.0% 绿   16 = 80.0% 绿   15 = 75.0% 红 (exactly 5.0 points behind)

Rankings by 组织覆盖率 (3 streets: one unit on each list; ties by code):
Aug/Sep 东 1, 南 2, 西 3 (黑榜); Oct 东 1, 西 2, 南 3 (黑榜).
"""

from __future__ import annotations

import pandas as pd
import pytest

from metrics.selection import Selection
from metrics.settings import Settings
from metrics.supervision import (
    GREEN,
    RED,
    YELLOW,
    alerts,
    base_state,
    bulletin_sentences,
    judge,
    lagging,
    lights,
    loss_reason,
    movement,
    points,
    rule_text,
)
from tests import fixtures as F

S = Settings()
COUNTS = {  # community: (orgs, with party org per month Aug, Sep, Oct)
    F.C1: (20, (16, 16, 16)),
    F.C3: (25, (19, 19, 19)),
    F.C4: (20, (16, 16, 15)),
}
MONTHS = ("2026-08", "2026-09", "2026-10")


def _orgs() -> pd.DataFrame:
    rows, n = [], 0
    for comm, (total, built) in COUNTS.items():
        base = n
        for month, k in zip(MONTHS, built):
            for i in range(total):
                # 南街道's last organization has three members and none: 应建未建.
                members = 3 if comm == F.C4 and i == total - 1 else 1
                rows.append((month, F.credit_code(base + i + 1), f"组织{base + i + 1}", "非公企业",
                             "商务楼宇", comm, 10, members, "联合组建" if i < k else "未组建", "否",
                             "是"))
        n += total
    return pd.DataFrame(rows, columns=F.ORG_COLUMNS)


@pytest.fixture(scope="module")
def city3(tmp_path_factory):
    frames = F.city_frames()
    frames["organizations"] = _orgs()
    frames["targets"] = pd.DataFrame([(2026, "org_coverage_rate", None, 0.8)],
                                     columns=F.TARGET_COLUMNS)
    store, con = F.open_city(tmp_path_factory.mktemp("sup"), frames)
    yield con
    con.close()


def _light(df: pd.DataFrame, code: str, key: str = "org_coverage_rate") -> dict:
    hit = df[(df["unit_code"] == code) & (df["key"] == key)]
    assert len(hit) == 1
    return hit.iloc[0].to_dict()


# --- the rule ----------------------------------------------------------------------------------


def test_exactly_at_target_is_green():
    assert judge("close_rate", 0.8, 0.8, elapsed=0.5, settings=S).state == GREEN


def test_behind_by_less_than_threshold_is_yellow():
    lt = judge("close_rate", 0.76, 0.8, elapsed=0.5, settings=S)
    assert (lt.state, lt.gap_points) == (YELLOW, -4.0)


def test_behind_by_exactly_threshold_is_red():
    # 0.75 − 0.8 is −0.05000000000000004 in floating point: judged on the gap as shown.
    lt = judge("close_rate", 0.75, 0.8, elapsed=0.5, settings=S)
    assert (lt.state, lt.gap_points, lt.escalated) == (RED, -5.0, False)


def test_just_inside_threshold_is_yellow():
    assert judge("close_rate", 0.7506, 0.8, elapsed=0.5, settings=S).state == YELLOW
    # 4.99 points behind is shown as 5.0 and judged as shown.
    assert judge("close_rate", 0.7501, 0.8, elapsed=0.5, settings=S).state == RED


def test_third_yellow_running_turns_red():
    lt = judge("close_rate", 0.78, 0.8, elapsed=0.5, settings=S, history=(YELLOW, YELLOW))
    assert (lt.state, lt.escalated) == (RED, True)


def test_two_yellows_running_stay_yellow():
    assert judge("close_rate", 0.78, 0.8, elapsed=0.5, settings=S,
                 history=(YELLOW, GREEN, YELLOW)).state == YELLOW


def test_earlier_red_counts_as_behind_for_the_run():
    assert judge("close_rate", 0.78, 0.8, elapsed=0.5, settings=S,
                 history=(RED, YELLOW)).state == RED


def test_threshold_and_run_length_are_settings():
    s = Settings(light_yellow_points=2.0, light_yellow_months_to_red=2)
    assert judge("close_rate", 0.77, 0.8, elapsed=0.5, settings=s).state == RED
    assert judge("close_rate", 0.79, 0.8, elapsed=0.5, settings=s, history=(YELLOW,)).state == RED


def test_paced_metric_is_judged_against_target_times_time_elapsed():
    # 项目完成率 accumulates over the year: at 时间进度 50% a 90% target expects 45%.
    lt = judge("project_completion_rate", 0.45, 0.9, elapsed=0.5, settings=S)
    assert (lt.state, lt.expected, lt.gap_points) == (GREEN, pytest.approx(0.45), 0.0)
    assert judge("project_completion_rate", 0.40, 0.9, elapsed=0.5, settings=S).state == RED
    # A level metric is judged against the full target whatever the time of year.
    assert judge("close_rate", 0.45, 0.9, elapsed=0.5, settings=S).state == RED


def test_no_value_or_no_target_gives_no_light():
    assert judge("close_rate", None, 0.8, elapsed=0.5, settings=S).state is None
    assert judge("close_rate", float("nan"), 0.8, elapsed=0.5, settings=S).state is None
    assert judge("close_rate", 0.5, None, elapsed=0.5, settings=S).state is None
    assert base_state(None, 5.0) is None


def test_points_round_half_away_from_zero_once():
    assert points(0.75, 0.8) == -5.0
    assert points(0.80049, 0.8) == 0.0
    assert points(0.7995, 0.8) == -0.1
    assert points(None, 0.8) is None and points(0.5, None) is None


def test_rule_text_names_the_thresholds_in_force():
    text = rule_text(Settings(light_yellow_points=3.0, light_yellow_months_to_red=4))
    assert "落后不足3个百分点" in text and "连续4期黄灯" in text and "序时进度" in text


# --- on the three-month city ----------------------------------------------------------------------


def _oct(level: str = "street") -> Selection:
    return Selection.make(level, period="2026-10")


def test_lights_by_street(city3):
    df = lights(city3, "coverage", _oct(), settings=S)
    east, west, south = (_light(df, c) for c in F.STREETS)
    assert (east["light"], east["gap_points"]) == (GREEN, 0.0)
    assert (west["light"], west["gap_points"], west["escalated"]) == (RED, -4.0, True)
    assert (south["light"], south["gap_points"], south["escalated"]) == (RED, -5.0, False)
    # A rate without a target has no light.
    assert _light(df, F.S_EAST, "work_coverage_rate")["light"] is None


def test_lights_in_september_before_the_run_completes(city3):
    df = lights(city3, "coverage", Selection.make("street", period="2026-09"), settings=S)
    assert _light(df, F.S_WEST)["light"] == YELLOW  # only two yellows so far
    assert _light(df, F.S_SOUTH)["light"] == GREEN


def test_lights_of_a_unit_with_no_orgs_are_empty(city3):
    # 甲区's 西一社区 … at community level C2 (东二社区) has no organizations: rate null.
    df = lights(city3, "coverage", _oct("community"), settings=S)
    assert _light(df, F.C2)["light"] is None


def test_three_months_on_the_black_list_or_red_is_lagging(city3):
    out = lagging(city3, "coverage", _oct(), "org_coverage_rate", settings=S)
    assert [x.unit_code for x in out] == [F.S_WEST]
    west = out[0]
    assert west.ranks == [2, 3, 3] and west.reasons == ["红灯", "黑榜", "黑榜"]
    # 南街道 was black and red in October only.


def test_two_months_is_not_lagging(city3):
    out = lagging(city3, "coverage", Selection.make("street", period="2026-09"),
                  "org_coverage_rate", settings=S)
    assert out == []  # only August and September hold data before October… and July is empty


def test_lagging_months_setting(city3):
    out = lagging(city3, "coverage", _oct(), "org_coverage_rate",
                  settings=Settings(lagging_months=1))
    assert [x.unit_code for x in out] == [F.S_SOUTH, F.S_WEST]  # worst rank first


def test_rank_movement_against_previous_month(city3):
    moves = {m.unit_code: m for m in movement(city3, "coverage", _oct(), "org_coverage_rate",
                                              settings=S)}
    assert (moves[F.S_EAST].change, moves[F.S_EAST].arrow) == (0, "—")
    assert (moves[F.S_WEST].change, moves[F.S_WEST].arrow) == (1, "↑1")
    assert (moves[F.S_SOUTH].change, moves[F.S_SOUTH].arrow) == (-1, "↓1")


def test_loss_reason_of_a_rate_is_the_furthest_below_target(city3):
    a = alerts(city3, "coverage", _oct(), "org_coverage_rate", settings=S)
    assert [(c, n) for c, n, _, _ in a.bottom] == [(F.S_SOUTH, "南街道")]
    loss = a.bottom[0][3]
    assert (loss.key, loss.lost) == ("org_coverage_rate", 5.0)
    assert loss.detail == "组织覆盖率75.0%，低于目标5.0个百分点"
    assert a.red_units() == [F.S_WEST, F.S_SOUTH]  # by code


def test_loss_reason_of_the_score_is_the_component_losing_most_points():
    # weights .10/.45/.45: response 50% loses 5.0, resolve 90% loses 4.5, satisfaction 80% 9.0.
    row = {"response_rate": 0.5, "resolve_rate": 0.9, "satisfaction_rate": 0.8, "score": 80.5}
    loss = loss_reason("issues", row, "score", settings=S)
    assert (loss.key, loss.lost) == ("satisfaction_rate", 9.0)
    assert loss.detail == "满意率80.0%，失9.0分"
    assert loss_reason("issues", {"response_rate": None}, "score", settings=S) is None


def test_bulletin_names_bottom_units_lagging_and_movers(city3):
    a = alerts(city3, "coverage", _oct(), "org_coverage_rate", settings=S)
    text = bulletin_sentences(a, level_label="街道", settings=S)
    assert "排名后一位的街道是南街道(75.0%，主要失分在组织覆盖率75.0%，低于目标5.0个百分点)。" in text
    assert "西街道连续三期进入黑榜或亮红灯，列为连续后进单位" in text
    assert "进步较快的是西街道(上升1位)。" in text and "退步较多的是南街道(下降1位)。" in text


def test_units_without_orders_are_named_separately(city):
    # The fixture city: 西街道 has no October orders.
    a = alerts(city.con, "issues", _oct(), "close_rate", settings=S)
    assert a.without_data == ["西街道"]
    text = bulletin_sentences(a, level_label="街道", settings=S)
    assert "西街道本期无受理工单，不参加排名。" in text


# --- 督办通知 ----------------------------------------------------------------------------------------


def test_one_notice_per_red_unit(city3):
    import datetime as dt
    import io

    from docx import Document

    from metrics.exports.notices import notices, notices_docx

    data = notices(city3, _oct(), settings=S, issued_on=dt.date(2026, 11, 5))
    assert [n.unit_name for n in data.notices] == ["西街道", "南街道"]
    west, south = data.notices
    assert west.number == "督办〔2026〕11-01号" and south.number == "督办〔2026〕11-02号"
    assert [(m.key, m.gap_points, m.escalated) for m in west.metrics] == [
        ("org_coverage_rate", -4.0, True)]
    assert south.item_totals == {"应建未建组织": 1} and west.items == []
    assert data.due_on == dt.date(2026, 11, 20)  # 15 days (rectification_days)

    doc = Document(io.BytesIO(notices_docx(data)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert text.count("督 办 通 知") == 2
    assert "西街道：" in text and "南街道：" in text and "请于2026年11月20日前完成整改" in text
    assert "组织65(正式党员3名，未组建)" in text
    cells = [[c.text for c in r.cells] for t in doc.tables for r in t.rows]
    assert ["两个覆盖", "组织覆盖率", "76.0%", "80.0%", "-4.0个百分点", "连续黄灯转红灯"] in cells
    assert ["两个覆盖", "组织覆盖率", "75.0%", "80.0%", "-5.0个百分点", "落后超过黄灯阈值"] in cells
    # One page each: exactly one page break between the two notices.
    body = doc.element.body.xml
    assert body.count('w:type="page"') == 1
    # Every run names a Chinese (East Asian) face.
    from docx.oxml.ns import qn
    for p in doc.paragraphs:
        for r in p.runs:
            if r.text.strip():
                assert r._element.rPr.rFonts.get(qn("w:eastAsia")), r.text


def test_no_red_unit_gives_a_one_page_document_saying_so(city3):
    import io

    from docx import Document

    from metrics.exports.notices import notices, notices_docx

    data = notices(city3, _oct("district"), settings=Settings(light_yellow_points=50.0,
                                                            light_yellow_months_to_red=99))
    assert data.notices == []
    text = "\n".join(p.text for p in Document(io.BytesIO(notices_docx(data))).paragraphs)
    assert "本期无督办事项" in text
