"""督办与预警: traffic lights against targets and 序时进度, 连续后进, 进步/退步 and 失分原因.

Everything here is computed from the domains' reports (``registry.report``) and the targets
table; nothing reads raw tables, so the rules cost a few aggregate reads per period judged.

The rule (口径, shown on the pages as ``RULE_TEXT``):

* A rate with a target for the year is judged against its *expected* value: the target itself,
  or for a metric that accumulates over the year (``definitions.PACED``, e.g. 项目完成率) the
  target × 时间进度 (序时进度).
* gap = value − expected, in percentage points, from raw values (rounded once, to 0.1 points,
  for display and for the comparison, so a gap shown as −5.0 is judged as −5.0).
* 绿灯: gap ≥ 0. 黄灯: behind by less than ``light_yellow_points``. 红灯: behind by
  ``light_yellow_points`` or more, or 黄灯 for ``light_yellow_months_to_red`` periods running
  (this one and the ones before it, each judged the same way).
* No value (zero denominator) or no target: no light (shown as —).

连续后进: a unit on the 黑榜, or with a 红灯, of the domain's headline metric in each of the last
``lagging_months`` periods. 进步/退步: rank now against rank in the previous period of the same
length (positive = moved up).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from metrics import definitions as D
from metrics.definitions import METRICS, PACED
from metrics.domains import ranking
from metrics.domains import registry as domains
from metrics.domains import targets as T
from metrics.exports.bulletin import cn_count, fmt_rate, fmt_value
from metrics.selection import Selection, month_str
from metrics.settings import Settings

GREEN, YELLOW, RED = "green", "yellow", "red"
LIGHT_LABELS = {GREEN: "绿灯", YELLOW: "黄灯", RED: "红灯", None: "—"}
LIGHT_SHORT = {GREEN: "达标", YELLOW: "滞后", RED: "严重滞后", None: "无目标或无数据"}
# Screen, slides, PPTX and the map share these colours (and ``ui.charts`` the legend).
LIGHT_COLORS = {GREEN: "#2e7d32", YELLOW: "#f9a825", RED: "#c62828", None: "#9e9e9e"}


def rule_text(settings: Settings) -> str:
    """The 口径 of the traffic lights with the thresholds in force."""
    y, n = _num(settings.light_yellow_points), settings.light_yellow_months_to_red
    return (f"红黄绿灯：有年度目标的比率指标与“应达值”比较——一般为年度目标，按年累计的指标"
            f"(如项目完成率)为 年度目标 × 时间进度(序时进度)。差距 = 实际值 − 应达值(百分点，保留一位小数)。"
            f"绿灯：差距 ≥ 0；黄灯：落后不足{y}个百分点；红灯：落后{y}个百分点及以上，"
            f"或连续{n}期黄灯。无数据(分母为0)或无目标时不亮灯。")


def short_rule(settings: Settings) -> str:
    """The rule in one line, for legends under a chart or a map."""
    y, n = _num(settings.light_yellow_points), settings.light_yellow_months_to_red
    return (f"绿灯达到应达值；黄灯落后不足{y}个百分点；红灯落后{y}个百分点及以上或连续{n}期黄灯"
            "(应达值：年度目标，按年累计的指标为年度目标×时间进度)")


def by_unit(lights_frame: pd.DataFrame, key: str) -> dict[str, str | None]:
    """unit code → light of ``key``, from a ``lights`` frame (empty when the key has none)."""
    df = lights_frame[lights_frame["key"] == key] if not lights_frame.empty else lights_frame
    return {c: s for c, s in zip(df.get("unit_code", []), df.get("light", []), strict=True)
            if isinstance(c, str)}


def light_of(lights_frame: pd.DataFrame, key: str, code: str | None) -> dict | None:
    """The row of ``key`` for unit ``code`` (None: the city) of a ``lights`` frame, or None."""
    if lights_frame.empty:
        return None
    for rec in lights_frame[lights_frame["key"] == key].to_dict("records"):
        c = rec["unit_code"] if isinstance(rec["unit_code"], str) else None
        if c == code:
            return rec
    return None


def lagging_text(settings: Settings) -> str:
    return (f"连续后进：连续{settings.lagging_months}期进入黑榜或亮红灯的单位(按各板块排名指标)。"
            "进步/退步：与上一期(同样长度的前一统计期)相比的排名变化，正数为上升。")


def _num(v: float) -> str:
    return f"{v:g}"


def points(value: float | None, expected: float | None) -> float | None:
    """value − expected in percentage points, from the raw values rounded once (the same rule
    as every 环比 and gap, ``definitions.difference``)."""
    return D.difference("rate", value, expected)


@dataclass(frozen=True)
class Light:
    state: str | None  # green | yellow | red | None
    value: float | None
    target: float | None
    expected: float | None
    gap_points: float | None  # value − expected, percentage points, one decimal
    escalated: bool = False  # red because yellow ran for too many periods

    @property
    def label(self) -> str:
        return LIGHT_LABELS[self.state]


def expected_value(key: str, target: float | None, elapsed: float) -> float | None:
    if target is None:
        return None
    return target * elapsed if key in PACED else target


def base_state(gap_points: float | None, yellow_points: float) -> str | None:
    """绿/黄/红 from the gap alone (before the months-running rule)."""
    if gap_points is None:
        return None
    if gap_points >= 0:
        return GREEN
    return YELLOW if -gap_points < yellow_points else RED


def judge(key: str, value: float | None, target: float | None, *, elapsed: float,
          settings: Settings, history: tuple[str | None, ...] = ()) -> Light:
    """The light of one value. ``history``: base states of the previous periods, most recent
    first (only their run of 黄灯 matters). A missing value or target gives no light."""
    has_value = value is not None and value == value
    expected = expected_value(key, target, elapsed)
    gap = points(value, expected) if has_value else None
    state = base_state(gap, settings.light_yellow_points)
    escalated = False
    need = settings.light_yellow_months_to_red - 1
    if state == YELLOW and need >= 0 and len(history) >= need and \
            all(h in (YELLOW, RED) for h in history[:need]):
        # Yellow running: this period and the ``need`` before it were all behind.
        state, escalated = RED, True
    return Light(state, float(value) if has_value else None, target, expected, gap, escalated)


# --- reading the periods ------------------------------------------------------------------------


def _report(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection,
            settings: Settings) -> tuple[pd.DataFrame, dt.datetime]:
    rep = domains.report(con, domain, sel, settings=settings)
    return rep.frame, rep.as_of


def explicit(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection) -> Selection:
    """``sel`` with its period made explicit: the default month of every page and export
    (``registry.default_month``) when it has none. ``domain`` is kept for callers that judge
    one domain; the month is the same for all, so every domain speaks of the same period."""
    if sel.period_to is not None:
        return sel
    latest = domains.default_month(con)
    if latest is None:
        return sel
    return sel.with_(period_from=month_str(latest), period_to=month_str(latest))


def periods(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, count: int
            ) -> list[Selection]:
    """``sel`` and the ``count − 1`` same-length periods before it, most recent first."""
    sel = explicit(con, domain, sel)
    if sel.period_to is None:
        return []
    out = [sel]
    for _ in range(count - 1):
        out.append(out[-1].previous(None))
    return out


@dataclass
class PeriodFrame:
    sel: Selection
    frame: pd.DataFrame
    as_of: dt.datetime
    elapsed: float
    targets: dict  # with_targets


def _frames(con, domain, sel, settings, count) -> list[PeriodFrame]:
    out = []
    for s in periods(con, domain, sel, count):
        df, as_of = _report(con, domain, s, settings)
        out.append(PeriodFrame(s, df, as_of, T.time_elapsed(as_of), T.with_targets(con, df, as_of)))
    return out


def _target(pf: PeriodFrame, key: str, code: str | None) -> float | None:
    t = pf.targets.get(key, {}).get(code)
    return None if t is None else t["target"]


def _value(df_row: dict, key: str) -> float | None:
    v = df_row.get(key)
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def lights(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, *, settings: Settings,
           keys: list[str] | None = None) -> pd.DataFrame:
    """One row per unit of ``sel.level`` and rate key: unit_code, unit_name, key, value, target,
    expected, gap_points, light, escalated. ``keys``: the domain's rate keys by default. A unit
    without a value or a target for a key has light None. Empty input gives an empty frame."""
    rate_keys = keys or [k for k in _domain_keys(domain) if METRICS[k].is_rate]
    history_needed = max(settings.light_yellow_months_to_red, 1)
    frames = _frames(con, domain, sel, settings, history_needed)
    cols = ["unit_code", "unit_name", "key", "value", "target", "expected", "gap_points",
            "light", "escalated"]
    if not frames:
        return pd.DataFrame(columns=cols)
    rows_by_period = [{r["unit_code"]: r for r in pf.frame.to_dict("records")} for pf in frames]
    out = []
    for rec in frames[0].frame.to_dict("records"):
        code = rec["unit_code"] if isinstance(rec["unit_code"], str) else None
        for key in rate_keys:
            hist: list[str | None] = []
            for pf, rows in zip(frames[1:], rows_by_period[1:]):
                r = rows.get(rec["unit_code"], {})
                hist.append(base_state(_gap(key, _value(r, key), _target(pf, key, code),
                                            pf.elapsed), settings.light_yellow_points))
            light = judge(key, _value(rec, key), _target(frames[0], key, code),
                          elapsed=frames[0].elapsed, settings=settings, history=tuple(hist))
            out.append([rec["unit_code"], rec["unit_name"], key, light.value, light.target,
                        light.expected, light.gap_points, light.state, light.escalated])
    # object columns: a missing light stays None (a string dtype would make it NaN)
    return pd.DataFrame(out, columns=cols, dtype=object)


def _rank(v: object) -> int | None:
    return None if v is None or v is pd.NA or v != v else int(v)


def _gap(key: str, value: float | None, target: float | None, elapsed: float) -> float | None:
    expected = expected_value(key, target, elapsed)
    return points(value, expected)


def _domain_keys(domain: str) -> list[str]:
    from metrics.definitions import DOMAIN_KEYS

    return list(DOMAIN_KEYS[domain])


# --- 连续后进, 进步/退步 -----------------------------------------------------------------------------


@dataclass
class Lagging:
    unit_code: str
    unit_name: str
    periods: int  # how many periods running (≥ lagging_months)
    ranks: list[int | None]  # most recent first
    values: list[float | None]
    reasons: list[str]  # per period: 黑榜 / 红灯 / 黑榜、红灯


def lagging(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, key: str, *,
            settings: Settings) -> list[Lagging]:
    """Units of ``sel.level`` on the 黑榜 or with a 红灯 of ``key`` in each of the last
    ``lagging_months`` periods (fewer periods with data: nobody is listed). Worst (latest rank
    lowest) first."""
    n = settings.lagging_months
    extra = max(settings.light_yellow_months_to_red - 1, 0)
    frames = _frames(con, domain, sel, settings, n + extra)
    if len(frames) < n:
        return []
    marks: list[dict[str, tuple[int | None, float | None, str]]] = []
    for i in range(n):
        pf = frames[i]
        ranked = ranking.rank(pf.frame, key, n=settings.ranking_n)
        per = {}
        for rec in ranked.to_dict("records"):
            code = rec["unit_code"]
            value = _value(rec, key)
            reasons = []
            if rec["black"]:
                reasons.append("黑榜")
            if METRICS[key].is_rate:
                hist = []
                for pf2 in frames[i + 1:i + 1 + extra]:
                    r2 = pf2.frame[pf2.frame["unit_code"] == code].to_dict("records")
                    v2 = _value(r2[0], key) if r2 else None
                    hist.append(base_state(_gap(key, v2, _target(pf2, key, code), pf2.elapsed),
                                           settings.light_yellow_points))
                lt = judge(key, value, _target(pf, key, code), elapsed=pf.elapsed,
                           settings=settings, history=tuple(hist))
                if lt.state == RED:
                    reasons.append("红灯")
            rank = _rank(rec["rank"])
            per[code] = (rank, value, "、".join(reasons))
        marks.append(per)
    out = []
    names = dict(zip(frames[0].frame["unit_code"], frames[0].frame["unit_name"]))
    for code in frames[0].frame["unit_code"]:
        if all(code in m and m[code][2] for m in marks):
            out.append(Lagging(code, str(names[code]), n, [m[code][0] for m in marks],
                               [m[code][1] for m in marks], [m[code][2] for m in marks]))
    out.sort(key=lambda x: (-(x.ranks[0] or 10**9), x.unit_code))
    return out


@dataclass
class Movement:
    unit_code: str
    unit_name: str
    rank: int | None
    previous_rank: int | None
    change: int | None  # previous − now: positive = moved up (进步)

    @property
    def arrow(self) -> str:
        if self.change is None:
            return "—"
        if self.change > 0:
            return f"↑{self.change}"
        if self.change < 0:
            return f"↓{-self.change}"
        return "—"


def movement(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, key: str, *,
             settings: Settings) -> list[Movement]:
    """Rank of every unit of ``sel.level`` now and in the previous period, in today's rank
    order. A unit unranked in either period has change None."""
    frames = _frames(con, domain, sel, settings, 2)
    if not frames:
        return []
    now = ranking.rank(frames[0].frame, key, n=settings.ranking_n)
    before = {}
    if len(frames) > 1:
        prev = ranking.rank(frames[1].frame, key, n=settings.ranking_n)
        before = {c: _rank(r) for c, r in zip(prev["unit_code"], prev["rank"])}
    out = []
    for rec in now.to_dict("records"):
        r = _rank(rec["rank"])
        p = before.get(rec["unit_code"])
        out.append(Movement(rec["unit_code"], str(rec["unit_name"]), r, p,
                            None if r is None or p is None else p - r))
    return out


def movers(moves: list[Movement], *, n: int = 3) -> tuple[list[Movement], list[Movement]]:
    """(进步最快, 退步最多): up to ``n`` each, largest moves first; ties by today's rank."""
    up = sorted([m for m in moves if m.change and m.change > 0],
                key=lambda m: (-m.change, m.rank or 0))[:n]
    down = sorted([m for m in moves if m.change and m.change < 0],
                  key=lambda m: (m.change, m.rank or 0))[:n]
    return up, down


# --- 失分原因 ------------------------------------------------------------------------------------

SCORE_PARTS = (("response_rate", "w_response"), ("resolve_rate", "w_resolve"),
               ("satisfaction_rate", "w_satisfaction"))


@dataclass
class Loss:
    key: str  # the indicator that lost the most
    label: str
    lost: float | None  # points lost (score) or percentage points behind (rates)
    detail: str  # 满意率 62.0%，失10.3分


def loss_reason(domain: str, row: dict, key: str, *, settings: Settings,
                targets: dict | None = None, code: str | None = None) -> Loss | None:
    """Why a unit lost points. For 综合得分: the component with the most points lost against
    full marks, 100 × weight × (1 − rate). For another headline: the domain's rate furthest
    below its target (None when no rate has a target or none is below it)."""

    if key == "score":
        weights = settings.score_weights()
        best = None
        for rk, wk in SCORE_PARTS:
            v = _value(row, rk)
            if v is None:
                continue
            lost = 100.0 * weights[wk] * (1.0 - v)
            if best is None or lost > best[1] + 1e-12:
                best = (rk, lost, v)
        if best is None:
            return None
        rk, lost, v = best
        return Loss(rk, METRICS[rk].label, round(lost, 1),
                    f"{METRICS[rk].label}{fmt_rate(v)}，失{lost:.1f}分")
    best = None
    for rk in _domain_keys(domain):
        if not METRICS[rk].is_rate:
            continue
        t = (targets or {}).get(rk, {}).get(code)
        v = _value(row, rk)
        if t is None or v is None:
            continue
        gap = points(v, t["target"])
        if gap is not None and gap < 0 and (best is None or gap < best[1]):
            best = (rk, gap, v, t["target"])
    if best is None:
        return None
    rk, gap, v, target = best
    return Loss(rk, METRICS[rk].label, -gap,
                f"{METRICS[rk].label}{fmt_rate(v)}，低于目标{-gap:.1f}个百分点")


# --- what the 通报 and 总览 say ----------------------------------------------------------------------


@dataclass
class Alerts:
    """Everything 督办与预警 says about one domain at one level."""

    domain: str
    key: str
    level: str
    lights: pd.DataFrame
    lagging: list[Lagging] = field(default_factory=list)
    moves: list[Movement] = field(default_factory=list)
    bottom: list[tuple[str, str, float | None, Loss | None]] = field(default_factory=list)
    without_data: list[str] = field(default_factory=list)  # e.g. streets with no orders

    def red_units(self) -> list[str]:
        df = self.lights
        return sorted(set(df.loc[df["light"] == RED, "unit_code"]))


def alerts(con: duckdb.DuckDBPyConnection, domain: str, sel: Selection, key: str, *,
           settings: Settings) -> Alerts:
    """Lights of every rate key, 连续后进, 进步/退步, the 后N名 with their 失分原因 and the units
    without data for ``key`` (for 问题解决: units without orders)."""
    lt = lights(con, domain, sel, settings=settings)
    frames = _frames(con, domain, sel, settings, 1)
    a = Alerts(domain, key, sel.level, lt)
    if not frames:
        return a
    pf = frames[0]
    a.lagging = lagging(con, domain, sel, key, settings=settings)
    a.moves = movement(con, domain, sel, key, settings=settings)
    ranked = ranking.rank(pf.frame, key, n=settings.ranking_n)
    for rec in ranked[ranked["black"]].iloc[::-1].to_dict("records"):
        code = rec["unit_code"]
        a.bottom.append((code, str(rec["unit_name"]), _value(rec, key),
                         loss_reason(domain, rec, key, settings=settings, targets=pf.targets,
                                     code=code)))
    empty_key = {"issues": "reported", "coverage": "orgs_total", "pairing": "communities"}.get(domain)
    for rec in pf.frame.to_dict("records"):
        if _value(rec, key) is None and (empty_key is None or not _value(rec, empty_key)):
            a.without_data.append(str(rec["unit_name"]))
    return a


NO_DATA_WORD = {"issues": "无受理工单", "coverage": "无两新组织", "pairing": "无社区"}


def bulletin_sentences(a: Alerts, *, level_label: str, settings: Settings) -> str:
    """The 通报's 督办 part: 后N名 with 失分原因, units without data, 连续后进, 进步/退步."""

    kind = METRICS[a.key].kind
    parts = []
    if a.bottom:
        items = []
        for _, name, value, loss in a.bottom:
            item = f"{name}({fmt_value(value, kind)}"
            item += f"，主要失分在{loss.detail}" if loss else ""
            items.append(item + ")")
        parts.append(f"排名后{cn_count(len(a.bottom))}位的{level_label}是" + "、".join(items) + "。")
    if a.without_data:
        word = NO_DATA_WORD.get(a.domain, "无数据")
        parts.append(f"{'、'.join(a.without_data)}本期{word}，不参加排名。")
    if a.lagging:
        names = "、".join(x.unit_name for x in a.lagging)
        parts.append(f"{names}连续{cn_count(settings.lagging_months)}期进入黑榜或亮红灯，列为连续后进单位，要重点督办。")
    up, down = movers(a.moves)
    if up:
        parts.append("进步较快的是" + "、".join(f"{m.unit_name}(上升{m.change}位)" for m in up) + "。")
    if down:
        parts.append("退步较多的是" + "、".join(f"{m.unit_name}(下降{-m.change}位)" for m in down) + "。")
    return "".join(parts)


# --- 督办预警 -------------------------------------------------------------------------------------


def red_sentence(a, level_label: str) -> str:
    """The units with a 红灯 (``supervision.Alerts.lights``), each with its red metrics and the
    gaps to the expected value: "亮红灯的街道有2个：西街道(组织覆盖率76.0%，低于应达值4.0个百分点，
    连续黄灯转红灯)、南街道(…)。" — or that there are none ("" when no rate has a target)."""
    df = a.lights
    if df.empty or not df["light"].notna().any():
        return ""  # no rate has a target: nothing is judged, nothing to say
    red = df[df["light"] == RED]
    if red.empty:
        return f"本期没有亮红灯的{level_label}。"
    items = []
    for code in a.red_units():
        parts = []
        for r in red[red["unit_code"] == code].to_dict("records"):
            p = f"{METRICS[r['key']].label}{fmt_rate(r['value'])}"
            gap = r["gap_points"]
            if gap is not None and gap < 0:
                p += f"，低于应达值{-gap:.1f}个百分点"
            if r["escalated"]:
                p += "，连续黄灯转红灯"
            parts.append(p)
        name = str(red.loc[red["unit_code"] == code, "unit_name"].iloc[0])
        items.append(f"{name}({'；'.join(parts)})")
    return f"亮红灯的{level_label}有{len(items)}个：" + "、".join(items) + "。"


def warning_paragraph(a, *, level_label: str, settings) -> str:
    """The 通报's 督办预警 part of one domain (``a``: ``supervision.alerts``): red units with
    their red metrics and gaps, then the 后N名 with 失分原因, the units without data (for 问题解决:
    without orders), 连续后进 and 进步/退步 (``supervision.bulletin_sentences``)."""
    return red_sentence(a, level_label) + bulletin_sentences(
        a, level_label=level_label, settings=settings)
