"""推进会 slides as a pure data model: what each slide shows, with the numbers already computed.

``build_deck(con, sel, settings=…, is_demo=…, data_version=…)`` reads the three domains through
``metrics.domains.registry.report`` (and the follow-up lists of coverage/issues/pairing) and returns a
``Deck``: a list of ``Slide`` objects that the Streamlit presentation page draws and
``metrics.exports.pptx.deck_to_pptx`` writes. Nothing here draws or imports Streamlit.

The selection's unit (``sel.prefix()``: its ``unit`` within the viewer's ``scope``; none = the
whole city) is the subject; rankings are of the units one level below it (districts for the city,
streets for a district, communities for a street; a ``sel.level`` deeper than that is honoured).
Without a period the deck uses the latest month that any domain has data for, so every slide
speaks of the same period. Filters apply to the domain they belong to (source/category to 问题解决,
org_type/sector to 两个覆盖, partner_level/kind to 结对联建).

Slides: title (会议名称, 主办单位, 会议日期) · overview (8 KPI cards) · 红黄绿灯 (each unit of the
level below × each rate with a target, ``metrics.supervision.lights``) · for each of 两个覆盖,
问题解决, 结对联建: ranking (bar chart, 红榜/黑榜, target line, 通报 paragraph), trend (12 months,
target), 问题清单 (table + doughnut) · 网格与小区: ranking and trend · 重点任务督办: ranking of the
level below and of the 责任单位, trend, 督办清单 · 下一步工作.

The slides speak to a meeting, not to the system: no data versions or extraction instants on
them (the footer says 数据截止 only), and no clause counting zero things.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from metrics import colours as C
from metrics import supervision as SUP
from metrics.contract.schema import LEVEL_LABELS
from metrics.definitions import DOMAIN_LABELS, METRICS, PACED
from metrics.domains import coverage as cov
from metrics.domains import issues, pairing, ranking
from metrics.domains import registry as domains
from metrics.domains import targets as T
from metrics.domains import tasks as task_domain
from metrics.exports import bulletin as B
from metrics.query import scalar
from metrics.selection import Selection, SelectionError, month_str, unit_level
from metrics.settings import Settings

DEFAULT_TITLE = "党建引领基层治理工作推进会"
DOMAINS = ("coverage", "issues", "pairing")
# The one rate each domain is ranked and charted by.
HEADLINE = {"coverage": "org_coverage_rate", "issues": "close_rate",
            "pairing": "pairing_coverage_rate", "grids": "grid_party_org_rate",
            "tasks": "task_completion_rate"}
OVERVIEW = (("coverage", "org_coverage_rate"), ("coverage", "work_coverage_rate"),
            ("issues", "close_rate"), ("issues", "on_time_rate"),
            ("issues", "satisfaction_rate"), ("issues", "score"),
            ("pairing", "pairing_coverage_rate"), ("pairing", "project_completion_rate"))
# Cumulative over the year: shown beside 时间进度.
CUMULATIVE = PACED  # shown beside 时间进度
TREND_MONTHS = 12
TABLE_ROWS = 8
LIGHT_ROWS = 10  # units on the 红黄绿灯 slide; with more, the worst are kept
LIGHT_NAMES = 6  # red lights named in the slide's text
LIGHT_COLUMNS = 8  # rates per 红黄绿灯 slide (more: another slide)
# The domains whose rates are judged on the 红黄绿灯 slide, in the deck's order.
LIGHT_DOMAINS = ("coverage", "issues", "pairing", "grids")
# 责任单位 are many (every department and street office with a task): a slide charts the first
# and the last of them, the ends a 推进会 names.
OWNER_CHART_ROWS = 16
AS_OF_FORMAT = "%Y-%m-%d %H:%M"


# --- the model ----------------------------------------------------------------------------------


@dataclass
class ChartSpec:
    """A native chart. ``series`` maps a series name to one value per category (None = no
    value). ``target``: one value for every category, or one per category (a line over the bars
    or beside the trend). ``marks`` per category: "red" (红榜), "black" (黑榜) or None.
    ``colours`` per category of a ranking: its ``metrics.colours`` class (None: no bar), the
    colour every renderer gives the bar; ``legend`` states that rule for the classes drawn."""

    kind: str  # "bar" | "line" | "doughnut"
    categories: list[str]
    series: dict[str, list[float | None]]
    target: float | list[float | None] | None = None
    target_label: str = "年度目标"
    number_format: str = "0.0%"
    marks: list[str | None] = field(default_factory=list)
    title: str = ""
    colours: list[str | None] = field(default_factory=list)
    legend: str = ""

    def target_values(self) -> list[float | None] | None:
        if self.target is None:
            return None
        if isinstance(self.target, list):
            return list(self.target)
        return [float(self.target)] * len(self.categories)

    def axis(self) -> tuple[float, float, float] | None:
        """(minimum, maximum, major unit) of the value axis — the one scale rule of the screen,
        the PPTX and the PDF, so no chart exaggerates a difference by cutting its baseline:
        rates from 0 to 100% in steps of 20%, other values from 0 to a round number at or above
        the largest value or target. None for a doughnut."""
        return value_axis(self)


@dataclass
class TableSpec:
    columns: list[str]
    rows: list[list[str]]
    marks: list[str | None] = field(default_factory=list)  # per row: "red" | "black" | None
    # per row, per column: a traffic light (``supervision`` green | yellow | red) or None
    cell_marks: list[list[str | None]] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)  # relative widths: a hint for the page (the PPTX sizes columns to content)


@dataclass
class KPI:
    key: str
    label: str
    domain: str
    kind: str  # "rate" | "score"
    value: float | None
    display: str
    previous: float | None
    change: float | None  # points (percentage points for rates), from the raw values, rounded once
    change_display: str  # 较上月提高1.2个百分点 / 与上月持平 …
    target: float | None = None
    target_display: str = ""  # 目标70.0%，已达标 / 目标90.0%，差1.3个百分点
    target_state: str = ""  # 已达标 / 差1.3个百分点 / —
    target_met: bool | None = None
    target_gap: float | None = None  # value − target in points, from the raw values, rounded once
    time_elapsed: float | None = None  # 时间进度, for cumulative metrics


@dataclass
class Slide:
    kind: str  # "title" | "overview" | "lights" | "ranking" | "trend" | "problems" | "closing"
    title: str
    subtitle: str = ""
    kpis: list[KPI] = field(default_factory=list)
    chart: ChartSpec | None = None
    table: TableSpec | None = None
    text: str = ""  # the slide's 通报 paragraph
    notes: str = ""  # speaker notes
    domain: str | None = None
    bullets: list[str] = field(default_factory=list)
    as_of: dt.datetime | None = None  # the domain's as_of when it differs from the deck's
    chart2: ChartSpec | None = None  # a second chart (问题清单: the doughnut beside the table)


@dataclass
class Deck:
    title: str
    unit_code: str | None
    unit_name: str
    period: str  # 2026年10月
    first: int
    last: int
    as_of: dt.datetime
    data_version: str
    is_demo: bool
    time_elapsed: float
    slides: list[Slide]
    facts: dict[str, B.DomainFacts] = field(default_factory=dict)
    filters: str = ""
    host: str = ""  # 主办单位
    meeting_date: str = ""  # 会议日期 as shown: 2026年12月6日

    def footer(self, slide: Slide) -> str:
        """The data's cut-off only: the version string stays in the workbook and the store."""
        as_of = slide.as_of or self.as_of
        return f"数据截止 {as_of.strftime(AS_OF_FORMAT)}"


def _nice_step(raw: float) -> float:
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw - 1e-12)


def value_axis(spec: ChartSpec) -> tuple[float, float, float] | None:
    """See ``ChartSpec.axis``."""
    if spec.kind == "doughnut":
        return None
    values = [v for vs in spec.series.values() for v in vs if v is not None]
    values += [v for v in (spec.target_values() or []) if v is not None]
    top = max(values, default=0.0)
    if spec.number_format.endswith("%"):
        # A rate above 100% cannot happen in the contract; should one appear, it is not cut off.
        return 0.0, max(1.0, math.ceil(top * 5 - 1e-9) / 5), 0.2
    if top <= 0:
        return 0.0, 1.0, 0.2
    step = _nice_step(top / 5)
    return 0.0, round(math.ceil(top / step - 1e-9) * step, 10), step


def doughnut_legend(spec: ChartSpec) -> list[tuple[str, float, str]]:
    """(category, value, share) per slice: the doughnut's labels, written beside the ring as a
    legend instead of on the slices, where a thin slice's label is clipped or lands on its
    neighbour's."""
    values = [v or 0.0 for v in next(iter(spec.series.values()))]
    total = sum(values)
    return [(c, v, f"{v / total * 100:.1f}%" if total else "—")
            for c, v in zip(spec.categories, values)]


def date_label(d: dt.date | str | None) -> str:
    """会议日期 as written on a title slide: 2026年12月6日 (a string is kept as given)."""
    if d is None or d == "":
        return ""
    if isinstance(d, str):
        try:
            d = dt.date.fromisoformat(d.strip())
        except ValueError:
            return d.strip()
    return f"{d.year}年{d.month}月{d.day}日"


# --- resolving the selection ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    sel: Selection  # with an explicit period
    unit_code: str | None
    unit_level: str
    unit_name: str
    first: int
    last: int

    def domain_sel(self, domain: str, level: str, *, month: int | None = None) -> Selection:
        return domains.for_domain(domain, self.sel, level, month=month)

    def rank_level_for(self, domain: str) -> str | None:
        """The level ranked: the selection's own when it lies below the unit, else the unit's
        children — None when ``domain`` does not report it."""
        return domains.rank_level(domain, self.unit_level, self.sel.level)


def unit_name(con: duckdb.DuckDBPyConnection, code: str | None) -> str:
    if not code:
        return "全市"
    name = scalar(con, "SELECT name FROM units WHERE code = $code", {"code": code})
    return name or code


def resolve(con: duckdb.DuckDBPyConnection, sel: Selection) -> Scope:
    prefix = sel.prefix()  # raises ScopeError outside the viewer's scope
    code = prefix or None
    level = unit_level(code)
    if sel.period_to is None:
        m = domains.default_month(con)  # the month the dashboard opens on
        if m is None:
            raise SelectionError("没有数据，无法生成推进会材料")
        sel = sel.with_(period_from=month_str(m), period_to=month_str(m))
    first, last = sel.months(None)
    return Scope(sel, code, level, unit_name(con, code), first, last)


# --- one domain -------------------------------------------------------------------------------------


@dataclass
class DomainData:
    domain: str
    key: str
    as_of: dt.datetime
    unit_row: dict
    prev_row: dict
    unit_targets: dict  # with_targets of the unit's row
    rank_level: str | None
    ranked: pd.DataFrame | None  # ranking.movement of ``key``: rank, 上月, 环比, 排名变化, target, gap
    child_targets: dict
    facts: B.DomainFacts
    trend_months: list[int] = field(default_factory=list)
    trend_values: list[float | None] = field(default_factory=list)
    trend_targets: list[float | None] = field(default_factory=list)

    def target_of(self, key: str, code: str | None = None, *, unit: bool = True) -> dict | None:
        table = self.unit_targets if unit else self.child_targets
        return table.get(key, {}).get(code)


def _val(v: object) -> float | None:
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _row(df: pd.DataFrame) -> dict:
    if df.empty:
        return {}
    return {k: (None if (v is None or v is pd.NA or (isinstance(v, float) and v != v)) else v)
            for k, v in df.iloc[0].to_dict().items()}


def domain_data(con: duckdb.DuckDBPyConnection, domain: str, scope: Scope, *,
                settings: Settings, key: str | None = None, trend: bool = True) -> DomainData:
    key = key or HEADLINE[domain]
    kind = METRICS[key].kind
    usel = scope.domain_sel(domain, scope.unit_level)
    urep = domains.report(con, domain, usel, settings=settings)
    as_of, udf = urep.as_of, urep.frame
    urow = _row(udf)
    utargets = T.with_targets(con, udf, as_of)
    pdf = domains.report(con, domain, usel.previous(None), settings=settings).frame
    prow = _row(pdf)

    rank_level = scope.rank_level_for(domain)
    ranked, ctargets, ranked_units = None, {}, []
    if rank_level is not None:
        csel = scope.domain_sel(domain, rank_level)
        crep = domains.report(con, domain, csel, settings=settings)
        cdf = crep.frame
        ctargets = T.with_targets(con, cdf, crep.as_of)
        cprev_rep = domains.report(con, domain, csel.previous(None), settings=settings)
        # no ledger before: nothing to compare with
        cprev = None if cprev_rep.no_ledger else cprev_rep.frame
        # rank, 上月, 环比, 排名变化, target and gap of every unit (ranking.movement)
        ranked = ranking.movement(cdf, cprev, key, n=settings.ranking_n,
                                  targets=ctargets.get(key, {}))
        ranked["target"] = [_val(t) for t in ranked["target"]]
        for r in ranked.itertuples(index=False):
            ranked_units.append(B.RankedUnit(
                code=r.unit_code, name=r.unit_name, value=_val(getattr(r, key)),
                rank=None if r.rank is pd.NA else int(r.rank), red=bool(r.red),
                black=bool(r.black), target=_val(r.target),
                target_met=None if _val(r.target) is None or r.target_met is None
                else bool(r.target_met)))
    own = utargets.get(key, {}).get(scope.unit_code)
    facts = B.DomainFacts(
        domain=domain, key=key, kind=kind, unit_name=scope.unit_name,
        level_label=LEVEL_LABELS.get(rank_level, "") if rank_level else "",
        first=scope.first, last=scope.last, value=_val(urow.get(key)),
        previous=_val(prow.get(key)), target=own["target"] if own else None,
        ranking=ranked_units, row=urow)
    data = DomainData(domain, key, as_of, urow, prow, utargets, rank_level, ranked, ctargets, facts)
    if trend:
        _trend(con, data, scope, settings)
    return data


def owner_data(con: duckdb.DuckDBPyConnection, scope: Scope, *, settings: Settings,
               key: str | None = None) -> DomainData:
    """重点任务督办 by 责任单位 under the scope's unit, as ``domain_data`` gives it by unit: the
    ranking (with 上月, 环比, 排名变化; the city's target applies to every owner) and the facts
    of the 通报 sentence, whose ranked units are the owners."""
    key = key or HEADLINE["tasks"]
    usel = scope.domain_sel("tasks", scope.unit_level)
    urep = domains.report(con, "tasks", usel, settings=settings)
    as_of, udf = urep.as_of, urep.frame
    odf = domains.group_report(con, "tasks", task_domain.OWNER_LEVEL, usel, settings=settings).frame
    prev = domains.group_report(con, "tasks", task_domain.OWNER_LEVEL, usel.previous(None),
                                settings=settings).frame
    targets = T.with_targets(con, odf, as_of)
    ranked = ranking.movement(odf, prev, key, n=settings.ranking_n,
                              targets=targets.get(key, {}))
    ranked["target"] = [_val(t) for t in ranked["target"]]
    units = [B.RankedUnit(code=r.unit_code, name=r.unit_name, value=_val(getattr(r, key)),
                          rank=None if r.rank is pd.NA else int(r.rank), red=bool(r.red),
                          black=bool(r.black), target=_val(r.target),
                          target_met=None if _val(r.target) is None or r.target_met is None
                          else bool(r.target_met))
             for r in ranked.itertuples(index=False)]
    urow = _row(udf)
    prow = _row(domains.report(con, "tasks", usel.previous(None), settings=settings).frame)
    utargets = T.with_targets(con, udf, as_of)
    own = utargets.get(key, {}).get(scope.unit_code)
    facts = B.DomainFacts(
        domain="tasks", key=key, kind=METRICS[key].kind, unit_name=scope.unit_name,
        level_label=domains.GROUP_LEVELS["tasks"][task_domain.OWNER_LEVEL], first=scope.first,
        last=scope.last, value=_val(urow.get(key)), previous=_val(prow.get(key)),
        target=own["target"] if own else None, ranking=units, row=urow)
    return DomainData("tasks", key, as_of, urow, prow, utargets, task_domain.OWNER_LEVEL,
                      ranked, targets, facts)


def _trend(con: duckdb.DuckDBPyConnection, data: DomainData, scope: Scope,
           settings: Settings) -> None:
    tables: dict[int, dict] = {}
    for m in range(scope.last - TREND_MONTHS + 1, scope.last + 1):
        rep = domains.report(con, data.domain, scope.domain_sel(data.domain, scope.unit_level,
                                                                month=m), settings=settings)
        df = rep.frame
        year = T.target_year(rep.as_of)
        if year not in tables:
            tables[year] = T.load(con, year)
        target, _ = (T.lookup(tables[year], data.key, scope.unit_code)
                     if METRICS[data.key].is_rate else (None, None))
        data.trend_months.append(m)
        data.trend_values.append(_val(_row(df).get(data.key)))
        data.trend_targets.append(target)


def gather(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings: Settings,
           trend: bool = True) -> tuple[Scope, dict[str, DomainData]]:
    scope = resolve(con, sel)
    return scope, {d: domain_data(con, d, scope, settings=settings, trend=trend) for d in DOMAINS}


# --- slides -------------------------------------------------------------------------------------------


def _kpi(data: DomainData, key: str, unit_code: str | None, elapsed: float) -> KPI:
    m = METRICS[key]
    kind = m.kind
    value, prev = _val(data.unit_row.get(key)), _val(data.prev_row.get(key))
    change = B.change_points(value, prev, kind)
    k = KPI(key=key, label=m.label, domain=data.domain, kind=kind, value=value,
            display=B.fmt_value(value, kind),
            previous=prev, change=change,
            change_display=B.fmt_change(change, kind=kind, prev_word=data.facts.prev_word),
            time_elapsed=elapsed if key in CUMULATIVE else None)
    t = data.target_of(key, unit_code)
    if t is not None:
        k.target, k.target_met = t["target"], t["target_met"]
        if value is not None:
            k.target_gap = B.gap_points(value, t["target"], kind)
            state = "已达标" if k.target_met else B.short_of(t["target"], value, kind, "差")
        else:
            state = "—"
        k.target_state = state
        k.target_display = f"目标{B.fmt_value(t['target'], kind)}，{state}"
    return k


def _subtitle(scope: Scope, extra: str = "") -> str:
    parts = [B.period_label(scope.first, scope.last), scope.unit_name]
    if extra:
        parts.append(extra)
    return "　".join(parts)


# The filters as the title slide names them (the sidebar's words, not the field names).
FILTER_WORDS = {"org_type": "单位类型", "sector": "新兴领域", "source": "工单来源",
                "category": "问题类别", "partner_level": "结对单位层级", "kind": "项目类别",
                "owner": "责任单位"}


def _filters_text(sel: Selection) -> str:
    if not sel.filters:
        return ""
    return "筛选：" + "；".join(f"{FILTER_WORDS.get(k, k)}：{'、'.join(v)}" for k, v in sel.filters)


def _definition(key: str) -> str:
    m = METRICS[key]
    return f"{m.label}：{m.definition}"


def _ranking_slide(data: DomainData, scope: Scope, settings: Settings, deck_as_of) -> Slide:
    label = METRICS[data.key].label
    f = data.facts
    lv = LEVEL_LABELS.get(data.rank_level) or f.level_label
    r = data.ranked
    n = settings.ranking_n
    shown_note = ""
    if data.rank_level == task_domain.OWNER_LEVEL:
        counted = int(r[data.key].notna().sum())
        r = ranking.chart_rows(r, data.key, limit=OWNER_CHART_ROWS)
        if len(r) < counted:
            half = OWNER_CHART_ROWS // 2
            shown_note = f"共{counted}个{lv}，图中为前{half}名和后{OWNER_CHART_ROWS - half}名；"
    chart = ChartSpec(
        kind="bar",
        categories=[str(x) for x in r["unit_name"]],
        series={label: [_val(v) for v in r[data.key]]},
        target=[_val(t) for t in r["target"]],
        number_format="0.0%" if METRICS[data.key].is_rate else "0.0",
        marks=["red" if a else "black" if b else None for a, b in zip(r["red"], r["black"])],
    )
    if all(t is None for t in chart.target):
        chart.target = None
    # One rule for the colour of a bar, the screen's (metrics.colours); 红榜/黑榜 are words on it.
    chart.colours = [C.bar_class(v, met) for v, met in zip(r[data.key], r["target_met"])]
    parts = [shown_note.rstrip("；"), C.legend(chart.colours)]
    if any(chart.marks):
        parts.append(f"“红榜”“黑榜”为前{B.cn_count(n)}名、后{B.cn_count(n)}名")
    if chart.target is not None:
        distinct = {t for t in chart.target if t is not None}
        parts.append("橙色虚线为年度目标" if len(distinct) == 1 else "橙色短线为各单位年度目标")
    chart.legend = "；".join(p for p in parts if p)
    text = B.paragraph(f)
    if data.rank_level == task_domain.OWNER_LEVEL:
        text = B.owner_paragraph(f, _top3(data.ranked, "tasks_overdue"))
    return Slide(
        kind="ranking", domain=data.domain,
        title=f"{DOMAIN_LABELS[data.domain]}：各{lv}{label}排名",
        subtitle=_subtitle(scope), chart=chart, text=text,
        notes="\n".join([text, _definition(data.key),
                         "排名：从高到低，并列按代码；无数据的单位排在最后，不进红黑榜。"]),
        as_of=data.as_of if data.as_of != deck_as_of else None)


def _trend_slide(data: DomainData, scope: Scope, deck_as_of, *, with_bulletin: bool = False
                 ) -> Slide:
    m = METRICS[data.key]
    chart = ChartSpec(
        kind="line",
        categories=[B.short_month(x) for x in data.trend_months],
        series={m.label: list(data.trend_values)},
        target=list(data.trend_targets) if any(t is not None for t in data.trend_targets) else None,
        number_format="0.0%" if m.is_rate else "0.0",
    )
    text = B.trend_sentence(scope.unit_name, data.key, m.kind, data.trend_months,
                            data.trend_values, data.trend_targets)
    if with_bulletin:  # no ranking slide below this unit: the 通报 goes here
        text = B.paragraph(data.facts) + "\n" + text
    return Slide(
        kind="trend", domain=data.domain,
        title=f"{DOMAIN_LABELS[data.domain]}：{m.label}近{TREND_MONTHS}个月走势",
        subtitle=_subtitle(scope, "虚线为当年年度目标" if chart.target else ""),
        chart=chart, text=text,
        notes="\n".join([text, _definition(data.key),
                         "每月按该月的统计口径单独计算(存量指标取月末状态，流量指标为当月)。"]),
        as_of=data.as_of if data.as_of != deck_as_of else None)


def _fmt_cell(key: str, v: object) -> str:
    kind = METRICS[key].kind
    return B.fmt_value(_val(v), kind if kind in ("rate", "score") else
                       ("hours" if kind == "hours" else "count"))


def _most(ranked: pd.DataFrame, count_key: str) -> pd.DataFrame:
    """The rows with any ``count_key``, the most first (ties by code, so the order is stable)."""
    return ranked[ranked[count_key].fillna(0) > 0].sort_values(
        [count_key, "unit_code"], ascending=[False, True], kind="mergesort")


def _top3(ranked: pd.DataFrame, count_key: str) -> list[tuple[str, int]]:
    """(name, count) of the three rows with the most ``count_key``: the 通报's 最多的是 … ."""
    return [(str(x.unit_name), int(getattr(x, count_key)))
            for x in _most(ranked, count_key).head(3).itertuples()]


def _unit_table(data: DomainData, count_key: str, cols: list[str]) -> tuple[TableSpec, list]:
    """The child units with the most ``count_key``, worst first (only those with any)."""
    df = _most(data.ranked, count_key).head(TABLE_ROWS)
    rows = [[str(x.unit_name)] + [_fmt_cell(k, getattr(x, k)) for k in cols]
            for x in df.itertuples(index=False)]
    spec = TableSpec(columns=[LEVEL_LABELS[data.rank_level]] + [METRICS[k].label for k in cols],
                     rows=rows, marks=[None] * len(rows),
                     widths=[2.2] + [1.5] * len(cols))
    return spec, _top3(data.ranked, count_key)


def _doughnut(data: DomainData) -> ChartSpec:
    r = data.unit_row

    def c(k: str) -> int:
        v = r.get(k)
        return 0 if v is None else int(v)

    if data.domain == "coverage":
        cats = ["单独组建", "联合组建", "未建党组织"]
        vals = [c("orgs_standalone"), c("orgs_with_party_org") - c("orgs_standalone"),
                c("orgs_total") - c("orgs_with_party_org")]
        title = "两新组织党组织建立情况（家）"
    elif data.domain == "issues":
        cats = ["已办结", "超期未办结", "在办未超期"]
        vals = [c("closed"), c("open_overdue"), c("reported") - c("closed") - c("open_overdue")]
        title = "受理工单办理情况（件）"
    elif data.domain == "tasks":
        cats = ["已完成", "逾期未完成", "临期", "其他未到期"]
        vals = [c("tasks_done"), c("tasks_overdue"), c("tasks_due_soon"),
                c("tasks") - c("tasks_done") - c("tasks_overdue") - c("tasks_due_soon")]
        title = "重点任务进展（项）"
    else:
        cats = ["已完成", "逾期未完成", "未到期"]
        vals = [c("projects_done"), c("projects_overdue"),
                c("projects") - c("projects_done") - c("projects_overdue")]
        title = "共建项目进展（个）"
    return ChartSpec(kind="doughnut", categories=cats, series={title: [float(v) for v in vals]},
                     number_format="0", title=title)


def _problems_slide(con: duckdb.DuckDBPyConnection, data: DomainData, scope: Scope,
                    deck_as_of, *, settings: Settings | None = None) -> Slide:
    d = data.domain
    lv = LEVEL_LABELS.get(data.rank_level, "") if data.rank_level else ""
    usel = scope.domain_sel(d, scope.unit_level)
    table, top = None, []
    if d == "coverage":
        if data.ranked is not None:
            table, top = _unit_table(data, "gap_should_build",
                                     ["gap_should_build", "standalone_eligible",
                                      "standalone_rate", "gap_work_uncovered"])
        else:
            gl = cov.gap_list(con, usel, "should_build", limit=TABLE_ROWS)
            table = TableSpec(["单位名称", "所属社区", "正式党员数", "党组织建立情况"],
                              [[str(x.org_name), str(x.community_name or ""),
                                str(int(x.party_members)), str(x.party_org)]
                               for x in gl.itertuples(index=False)],
                              widths=[3.2, 1.8, 1.2, 1.6])
    elif d == "issues":
        if data.ranked is not None:
            table, top = _unit_table(data, "open_overdue",
                                     ["open_overdue", "reported", "close_rate", "on_time_rate"])
        else:
            od = issues.overdue_orders(con, usel, limit=TABLE_ROWS)
            table = TableSpec(["工单编号", "问题类别", "来源", "超期天数"],
                              [[str(x.issue_id), str(x.category), str(x.source),
                                f"{int(x.overdue_days):,}"]
                               for x in od.itertuples(index=False)],
                              widths=[2.4, 1.8, 1.6, 1.2])
    elif d == "tasks":
        od = task_domain.overdue_tasks(con, usel, settings=settings, limit=TABLE_ROWS)
        table = TableSpec(["任务名称", "责任单位", "所属区划", "超期天数"],
                          [[str(x.title), str(x.owner), str(x.unit_name or ""),
                            str(int(x.overdue_days))] for x in od.itertuples(index=False)],
                          widths=[3.0, 2.4, 1.6, 1.1])
        if data.ranked is not None:
            top = _top3(data.ranked, "tasks_overdue")
    else:
        op = pairing.overdue_projects(con, usel, limit=TABLE_ROWS)
        table = TableSpec(["项目名称", "结对单位", "所属社区", "逾期天数"],
                          [[str(x.title), str(x.partner_name), str(x.community_name or ""),
                            str(int(x.overdue_days))] for x in op.itertuples(index=False)],
                          widths=[3.0, 2.6, 1.6, 1.1])
        if data.ranked is not None:
            top = _top3(data.ranked, "projects_overdue")
    if table is not None and table.rows:
        table.marks = [None] * len(table.rows)
    text = B.problems_sentence(d, scope.unit_name, data.unit_row, top, lv)
    titles = {"coverage": "应建未建组织", "issues": "超期未办结工单", "pairing": "逾期共建项目",
              "tasks": "督办清单·超期任务"}
    return Slide(
        kind="problems", domain=d,
        title=f"{DOMAIN_LABELS[d]}：问题清单（{titles[d]}）",
        subtitle=_subtitle(scope, f"列出最多{TABLE_ROWS}项，完整清单见通报工作簿"),
        table=table, chart2=_doughnut(data), text=text,
        notes=text, as_of=data.as_of if data.as_of != deck_as_of else None)


def _light_text(rec: dict) -> str:
    """``74.3% 红灯``: the value and its light in words, so the meaning survives without colour."""
    value = B.fmt_value(_val(rec["value"]), "rate")
    return value if rec["light"] is None else f"{value} {SUP.LIGHT_LABELS[rec['light']]}"


def lights_frame(con: duckdb.DuckDBPyConnection, scope: Scope, settings: Settings
                 ) -> tuple[pd.DataFrame, str | None]:
    """(lights of every domain's rates at the level below the unit, that level) — the rows of
    ``metrics.supervision.lights`` with a ``domain`` column; empty when nothing is ranked."""
    frames, level = [], None
    for d in LIGHT_DOMAINS:
        lv = scope.rank_level_for(d)
        if lv is None:
            continue
        level = lv
        lt = SUP.lights(con, d, scope.domain_sel(d, lv), settings=settings)
        if not lt.empty:
            frames.append(lt.assign(domain=d))
    if not frames:
        return pd.DataFrame(), level
    return pd.concat(frames, ignore_index=True), level


def _key_pages(lt: pd.DataFrame) -> list[list[str]]:
    """The rate keys with any light, in the deck's order, packed into pages of at most
    ``LIGHT_COLUMNS``, a domain kept together when it fits."""
    keys = list(dict.fromkeys(lt.loc[lt["light"].notna(), "key"]))
    domain_of = dict(zip(lt["key"], lt["domain"]))
    pages: list[list[str]] = []
    for d in LIGHT_DOMAINS:
        ks = [k for k in keys if domain_of[k] == d]
        while ks:
            if pages and len(pages[-1]) + len(ks) <= LIGHT_COLUMNS:
                pages[-1].extend(ks)
                ks = []
            else:
                pages.append(ks[:LIGHT_COLUMNS])
                ks = ks[LIGHT_COLUMNS:]
    return pages


def _lights_slides(con: duckdb.DuckDBPyConnection, scope: Scope, settings: Settings
                   ) -> list[Slide]:
    """红黄绿灯: each unit of the level below × each rate with a target, judged by
    ``metrics.supervision.lights`` (the frames the pages colour). More rates than fit one
    slide: one slide per group of domains. None when nothing is ranked below the unit or no
    rate has a target."""
    lt, level = lights_frame(con, scope, settings)
    if lt.empty or level is None:
        return []
    pages = _key_pages(lt)
    lv = LEVEL_LABELS[level]
    out = []
    for n, keys in enumerate(pages, start=1):
        page = lt[lt["key"].isin(keys)]
        units: dict[str, dict] = {}
        for rec in page.to_dict("records"):
            u = units.setdefault(rec["unit_code"], {"name": str(rec["unit_name"]), "cells": {}})
            u["cells"][rec["key"]] = rec
        order = list(units)
        if len(order) > LIGHT_ROWS:
            keep = set(sorted(order, key=lambda c, u=units: _badness(u[c]["cells"], c))
                       [:LIGHT_ROWS])
            order = [c for c in order if c in keep]
        rows, cell_marks = [], []
        for code in order:
            recs = [units[code]["cells"].get(k) for k in keys]
            rows.append([units[code]["name"]] + [_light_text(r) if r else "—" for r in recs])
            cell_marks.append([None] + [r["light"] if r else None for r in recs])
        table = TableSpec(columns=[lv] + [METRICS[k].label for k in keys], rows=rows,
                          marks=[None] * len(rows), cell_marks=cell_marks,
                          widths=[2.0] + [1.5] * len(keys))
        text = _lights_text(page, scope, lv, len(keys))
        rule = "亮灯规则：" + SUP.short_rule(settings) + "。"
        domains_here = "、".join(DOMAIN_LABELS[d] for d in dict.fromkeys(page["domain"]))
        extra = domains_here
        if len(units) > LIGHT_ROWS:
            extra += f"　列出亮灯最差的{LIGHT_ROWS}个{lv}"
        suffix = f"（{n}/{len(pages)}）" if len(pages) > 1 else ""
        out.append(Slide(kind="lights", title=f"红黄绿灯：各{lv}指标亮灯情况{suffix}",
                         subtitle=_subtitle(scope, extra), table=table,
                         text=text + "\n" + rule,
                         notes="\n".join([text, SUP.rule_text(settings)])))
    return out


def _badness(cells: dict, code: str) -> tuple:
    """Sort key of a unit on a 红黄绿灯 slide: most red, then most yellow first."""
    states = [r["light"] for r in cells.values()]
    return (-states.count(SUP.RED), -states.count(SUP.YELLOW), code)


def _lights_text(page: pd.DataFrame, scope: Scope, lv: str, n_keys: int) -> str:
    """The count of each light (zero counts left out) and the red ones, worst gap first."""
    states = [r for r in page["light"] if r is not None]
    tally = "、".join(f"{word}{states.count(st)}盏" for st, word in
                      ((SUP.RED, "红灯"), (SUP.YELLOW, "黄灯"), (SUP.GREEN, "绿灯"))
                      if states.count(st))
    text = (f"{B.period_label(scope.first, scope.last)}，{page['unit_code'].nunique()}个{lv}"
            f"的{n_keys}项有目标的指标共亮灯{len(states)}盏，其中{tally}。")
    reds = [r for r in page.to_dict("records") if r["light"] == SUP.RED]
    reds.sort(key=lambda r: (r["gap_points"] if r["gap_points"] is not None else 0.0,
                             str(r["unit_code"])))
    if not reds:
        return text + "没有亮红灯的指标。"
    named = []
    for r in reds[:LIGHT_NAMES]:
        why = [B.fmt_rate(_val(r["value"]))]
        if r["gap_points"] is not None and r["gap_points"] < 0:
            why.append(f"低于应达值{-r['gap_points']:.1f}个百分点")
        if r["escalated"]:
            why.append("连续黄灯转红灯")
        named.append(f"{r['unit_name']}{METRICS[r['key']].label}({'，'.join(why)})")
    more = f"等{len(reds)}项" if len(reds) > LIGHT_NAMES else ""
    return text + "亮红灯的是" + "、".join(named) + more + "，要挂牌督办。"


def build_deck(con: duckdb.DuckDBPyConnection, sel: Selection, *, settings: Settings,
               title: str | None = None, host: str | None = None,
               meeting_date: dt.date | str | None = None, is_demo: bool,
               data_version: str) -> Deck:
    """The slide sequence for ``sel`` (period and unit); see the module docstring. ``title``,
    ``host`` and ``meeting_date``: 会议名称, 主办单位 and 会议日期 of the title slide.
    ``data_version`` is kept on the deck for callers that trace it; no slide shows it."""
    scope, data = gather(con, sel, settings=settings)
    # 网格与小区: its ranking and trend follow the three domains (not in the 通报 text).
    grid_data = domain_data(con, "grids", scope, settings=settings)
    # 重点任务督办: rankings by unit (to the street) and by 责任单位, trend and 督办清单 after them,
    # each ranking slide with its 通报 sentence.
    task_data = (domain_data(con, "tasks", scope, settings=settings)
                 if scope.unit_level in domains.LEVELS["tasks"] else None)
    as_of = scope.sel.as_of or max(d.as_of for d in data.values())
    elapsed = T.time_elapsed(as_of)
    meeting = (title or "").strip() or DEFAULT_TITLE
    host = (host or "").strip()
    when = date_label(meeting_date)
    period = B.period_label(scope.first, scope.last)
    filters = _filters_text(scope.sel)

    slides: list[Slide] = []
    lines = [f"{scope.unit_name}工作情况通报（{period}）"]
    lines += [x for x in (host, when) if x]
    if filters:
        lines.append(filters)
    slides.append(Slide(kind="title", title=meeting, subtitle=scope.unit_name,
                        bullets=lines, text="\n".join(lines),
                        notes=f"数据截止 {as_of.strftime(AS_OF_FORMAT)}"))

    kpis = [_kpi(data[d], k, scope.unit_code, elapsed) for d, k in OVERVIEW]
    slides.append(Slide(
        kind="overview", title="主要指标总览",
        subtitle=_subtitle(scope, f"时间进度 {B.fmt_rate(elapsed)}"), kpis=kpis,
        notes="\n".join(B.paragraph(data[d].facts) for d in DOMAINS)))
    slides.extend(_lights_slides(con, scope, settings))

    for d in DOMAINS:
        dd = data[d]
        if dd.ranked is not None:
            slides.append(_ranking_slide(dd, scope, settings, as_of))
        slides.append(_trend_slide(dd, scope, as_of, with_bulletin=dd.ranked is None))
        slides.append(_problems_slide(con, dd, scope, as_of))
    if grid_data.ranked is not None:
        slides.append(_ranking_slide(grid_data, scope, settings, as_of))
    slides.append(_trend_slide(grid_data, scope, as_of, with_bulletin=False))
    if task_data is not None:
        if task_data.ranked is not None:
            slides.append(_ranking_slide(task_data, scope, settings, as_of))
        owners = owner_data(con, scope, settings=settings)
        if owners.ranked[owners.key].notna().any():  # an owner with a rate to chart
            slides.append(_ranking_slide(owners, scope, settings, as_of))
        slides.append(_trend_slide(task_data, scope, as_of,
                                   with_bulletin=task_data.ranked is None))
        slides.append(_problems_slide(con, task_data, scope, as_of, settings=settings))

    bullets = [f"{DOMAIN_LABELS[d]}：{B.next_step(data[d].facts)}" for d in DOMAINS]
    if task_data is not None:
        bullets.append(f"{DOMAIN_LABELS['tasks']}：{B.next_step(task_data.facts)}")
    slides.append(Slide(kind="closing", title="下一步工作", subtitle=_subtitle(scope),
                        bullets=bullets, text="\n".join(bullets), notes="\n".join(bullets)))
    return Deck(title=meeting, unit_code=scope.unit_code, unit_name=scope.unit_name,
                period=period, first=scope.first, last=scope.last, as_of=as_of,
                data_version=data_version, is_demo=is_demo, time_elapsed=elapsed,
                slides=slides, facts={d: data[d].facts for d in DOMAINS}, filters=filters,
                host=host, meeting_date=when)
