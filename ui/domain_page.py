"""The layout shared by the domain pages (两个覆盖, 问题解决, 结对联建, 网格与小区, 重点任务督办);
each page passes its configuration."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from metrics import supervision as supervision_rules
from metrics.contract.schema import LEVEL_LABELS
from metrics.definitions import METRICS
from metrics.domains.common import Report
from metrics.domains.registry import GROUP_LEVELS, LEVELS
from ui import charts, supervision
from ui import components as C
from ui.reader import Reader
from ui.state import Ctx, View, domain_filters, freshness


@dataclass(frozen=True)
class Breakdown:
    by: str
    value: str
    label: str


@dataclass(frozen=True)
class FollowUp:
    which: str
    label: str
    columns: dict  # column → Chinese header
    percent: tuple = ()  # columns holding a share 0–1, shown as whole percentages (完成进度)


@dataclass(frozen=True)
class DomainPage:
    domain: str
    title: str
    headline: list
    rank_keys: list
    trend_keys: list
    breakdowns: list
    follow_ups: list
    # Group levels ranked besides the units (registry.GROUP_LEVELS: 责任单位 of 重点任务督办),
    # by the same 排名指标, over the selected unit.
    group_rankings: tuple = ()


def readable(df: pd.DataFrame) -> pd.DataFrame:
    """A follow-up list as a person reads it: dates without 00:00:00, blanks for missing."""
    out = df.copy()
    for col in out.columns:
        v = out[col]
        if pd.api.types.is_datetime64_any_dtype(v):
            midnight = v.dropna().dt.normalize().eq(v.dropna()).all()
            out[col] = v.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M")
        elif v.dtype == object and len(v) and v.map(lambda x: isinstance(x, dt.date)).any():
            out[col] = v.map(lambda x: x.isoformat() if isinstance(x, dt.date) else x)
        elif pd.api.types.is_bool_dtype(v) or str(v.dtype) == "boolean":
            out[col] = v.map({True: "是", False: "否"})
    return out.astype(object).where(out.notna(), "")


def snapshot_note(snapshots: dict, month: str | None) -> str:
    """Which grid and compound snapshots a 网格与小区 report used (each the latest at or before
    the selected month; ``snapshots``: the report's)."""
    parts = []
    for key, name in (("grid", "网格快照"), ("compound", "小区快照")):
        snap = snapshots.get(key)
        if snap is None:
            parts.append(f"{name}：所选月份之前没有数据")
        elif snap != month:
            parts.append(f"{name}：取最近一期 {snap}")
        else:
            parts.append(f"{name}：{snap}")
    return "；".join(parts)


def headline(ctx: Ctx, view: View, items: list[tuple[str, str]],
             filters: dict[str, dict]) -> bool:
    """The KPI cards of ``items`` ((domain, key) pairs; ``filters`` per domain). False when
    there is no data for the selection. A domain that does not reach the selected unit's level
    (重点任务督办 stops at the street) has no cards there."""
    if not view.period_to:
        return False
    items = [(d, k) for d, k in items if view.unit_level in LEVELS[d]]
    cards = {}
    for domain in dict.fromkeys(d for d, _ in items):
        card = ctx.reader(view, domain, filters.get(domain)).card()
        if card is None:
            st.info("所选区划没有数据")
            return False
        cards[domain] = card
    C.kpi_cards(items, cards, ctx.settings)
    return True


def ranking(ctx: Ctx, r: Reader, key: str, *, chart_key: str | None = None) -> pd.DataFrame | None:
    """The ranking of the level below the unit (None at the finest level); its report."""
    level = r.child_level
    if level is None:
        return None
    df = r.report(level).frame
    C.ranking_block(df, key, r.targets(level).get(key, {}) if not df.empty else {},
                    settings=ctx.settings, figure_key=r.key("rank", level, key),
                    chart_key=chart_key or f"rank_{r.domain}", drillable=level != "grid")
    return df


def map_view(ctx: Ctx, r: Reader, key: str, df: pd.DataFrame | None) -> None:
    """The map of the level below beside the ranking (districts or streets)."""
    level = r.child_level

    def colours() -> tuple:
        return (r.targets(level).get(key),
                supervision_rules.by_unit(r.lights(level), key))
    C.map_block(r.domain, key, df, level, data_dir=ctx.data_dir,
                figure_key=r.key("map", level, key), colours=colours,
                light_rule=supervision_rules.short_rule(ctx.settings))


def stale_notes(ctx: Ctx, view: View, domains: tuple[str, ...]) -> list[str]:
    """Which month each domain's data is from when its newest is older than the month shown."""
    return C.stale_notes({d: ctx.reader(view, d).latest() for d in domains}, view.period_to)


def render(ctx: Ctx, view: View, page: DomainPage) -> None:
    st.title(page.title)
    if not ctx.months:
        C.empty_state(ctx)
        return
    filters = domain_filters(ctx, page.domain)
    C.breadcrumb(ctx, view)
    if view.unit_level not in LEVELS[page.domain]:
        deepest = LEVEL_LABELS[LEVELS[page.domain][-1]]
        st.info(f"{page.title}只统计到{deepest}层级，请在左侧选择{deepest}或以上的区划")
        return
    if not headline(ctx, view, [(page.domain, k) for k in page.headline], {page.domain: filters}):
        return
    r = ctx.reader(view, page.domain, filters)
    unit = r.report()
    note = ""
    if page.domain == "coverage":
        if unit.snapshot is None:
            note = "(所选月份之前没有台账)"
        elif unit.snapshot != view.period_to:
            note = f"(台账取最近一期：{unit.snapshot})"
    freshness(ctx, unit.as_of)
    if note:
        st.caption("两新组织台账 " + note)
    if page.domain == "grids":
        st.caption(snapshot_note(unit.snapshots, view.period_to))
    if page.domain == "tasks":
        st.caption(f"临期：未完成、{ctx.settings.task_due_soon_days} 天内到期(截止时点起算)；"
                   "全市性任务只计入全市及其责任单位")

    def rank_key() -> str:
        return st.selectbox("排名指标", page.rank_keys, format_func=lambda k: METRICS[k].label,
                            key=f"{page.domain}_rank", bind="query-params")
    if page.domain in ("issues", "pairing"):  # the ledgers say their snapshot above
        stale_notes(ctx, view, (page.domain,))

    level = r.child_level
    key = None
    if level is not None:
        st.subheader(f"{ {'district': '各区县', 'street': '各街道', 'community': '各社区', 'grid': '各网格'}[level]}排名")
        key = rank_key()
        left, right = st.columns([3, 2], gap="large")
        with left:
            df = ranking(ctx, r, key)
        with right:
            map_view(ctx, r, key, df)
    else:
        df = None
        st.caption("已是最细层级")
    for group in page.group_rankings:
        st.subheader(f"{GROUP_LEVELS[page.domain][group]}排名")
        if key is None:
            key = rank_key()
        _group_ranking(ctx, view, r, group, key)

    st.subheader("趋势(近12个月)")
    _trend(r, page.trend_keys)

    # The detail area is tabs of which only the open one is drawn: every element on the page
    # costs the browser time on every rerun, so what is not looked at is not sent.
    st.subheader("详细数据")
    labels = ((["分项"] if page.breakdowns else []) + ["明细", "红黄绿灯"]
              + [f.label for f in page.follow_ups])
    tabs = st.tabs(labels, key=f"{page.domain}_detail", on_change="rerun", bind="query-params")
    for tab, label in zip(tabs, labels, strict=True):
        with tab:
            if not tab.open:
                continue
            if label == "分项":
                _breakdowns(page, r)
            elif label == "红黄绿灯":
                supervision.lights_tab(ctx, view, r)
            elif label == "明细":
                if df is not None and not df.empty:
                    C.units_table(page.domain, df, _frame(r.previous(level)), unit.frame,
                                  r.targets(level).get(key, {}), key=key, settings=ctx.settings,
                                  stem=f"{page.title}_{view.period_label()}",
                                  drillable=level not in (None, "grid"))
                else:
                    st.caption("已是最细层级，没有下一级明细" if level is None else "下一级没有单位")
            else:
                f = next(f for f in page.follow_ups if f.label == label)
                _follow_up(view, r, f)

    supervision.downloads(ctx, view, page=page.domain, key=page.domain)
    C.definitions_panel(page.domain, ctx.settings,
                        lambda: r.explain(r.child_level or view.unit_level))


def _frame(rep: Report | None) -> pd.DataFrame | None:
    return None if rep is None else rep.frame


def _group_ranking(ctx: Ctx, view: View, r: Reader, group: str, key: str) -> None:
    df = r.group_report(group).frame
    prev = _frame(r.group_report(group, previous=True)) if not df.empty else None
    tg = r.group_targets(group).get(key, {}) if not df.empty else {}
    C.group_ranking_block(r.domain, group, key, df, prev, r.report().frame, tg,
                          settings=ctx.settings, figure_key=r.key("grank", None, group, key),
                          period_label=view.period_label())


def _trend(r: Reader, keys: list[str], months: int = 12) -> None:
    tr = r.trend(months)
    target = None
    if not tr.empty:
        tg = r.targets().get(keys[0], {})
        target = next(iter(tg.values()))["target"] if tg else None
    C.trend_block(r.domain, keys, tr, target, figure_key=r.key("trend", None, tuple(keys), months))


def _breakdowns(page: DomainPage, r: Reader) -> None:
    cols = st.columns(len(page.breakdowns))
    for col, b in zip(cols, page.breakdowns, strict=True):
        with col:
            bd = r.breakdown(b.by)
            if bd.empty or not pd.to_numeric(bd[b.value], errors="coerce").fillna(0).any():
                st.caption(f"{b.label}：所选范围内暂无数据")
                continue
            fig = C.figure(repr(("bd", page.domain, r.sel, r.sig, r.settings, b)),
                           lambda bd=bd, b=b: charts.breakdown_bars(bd, b.value, label=b.label))
            C.plotly_chart(fig, key=f"bd_{page.domain}_{b.by}")


def _follow_up(view: View, r: Reader, f: FollowUp) -> None:
    lst = r.follow_up(f.which)
    if lst.empty:
        st.success("没有需要跟进的事项")
        return
    shown = lst[list(f.columns)].copy()
    for c in f.percent:
        shown[c] = shown[c].map(lambda v: None if pd.isna(v) else f"{float(v) * 100:.0f}%")
    shown = readable(shown).rename(columns=f.columns)
    needle = st.text_input("在清单中搜索(名称、编号、社区…)", key=f"find_{f.which}",
                           placeholder="输入关键字筛选")
    if needle:
        text = shown.astype(str).agg(" ".join, axis=1)
        shown = shown[text.str.contains(needle, regex=False)]
    st.caption(f"共 {len(shown):,} 条" + ("(最多显示 5000 条)" if len(lst) >= 5000 else ""))
    st.dataframe(shown, hide_index=True, height=360)
    C.downloads(shown, f"{f.label}_{view.period_label()}", key=f"dl_{f.which}")
