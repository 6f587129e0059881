"""The layout shared by the domain pages (两个覆盖, 问题解决, 结对联建, 网格与小区, 重点任务督办);
each page passes its configuration."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from metrics.contract.schema import LEVEL_LABELS
from metrics.definitions import METRICS
from metrics.domains.registry import GROUP_LEVELS, LEVELS
from ui import cache, charts, supervision
from ui import components as C
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


def snapshot_note(attrs: dict, month: str | None) -> str:
    """Which grid and compound snapshots a 网格与小区 report used (each the latest at or before
    the selected month)."""
    parts = []
    for key, name in (("grid_snapshot", "网格快照"), ("compound_snapshot", "小区快照")):
        snap = attrs.get(key)
        if snap is None:
            parts.append(f"{name}：所选月份之前没有数据")
        elif snap != month:
            parts.append(f"{name}：取最近一期 {snap}")
        else:
            parts.append(f"{name}：{snap}")
    return "；".join(parts)


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
    if not C.kpi_cards(ctx, view, [(page.domain, k) for k in page.headline],
                       {page.domain: filters}):
        return
    sel = view.selection(filters=filters)
    df_unit = cache.report(ctx.con, page.domain, sel, ctx.sig(page.domain), ctx.settings)
    note = ""
    if page.domain == "coverage":
        snap = df_unit.attrs.get("snapshot")
        if snap is None:
            note = "(所选月份之前没有台账)"
        elif snap != view.period_to:
            note = f"(台账取最近一期：{snap})"
    freshness(ctx, df_unit.attrs.get("as_of"))
    if note:
        st.caption("两新组织台账 " + note)
    if page.domain == "grids":
        st.caption(snapshot_note(df_unit.attrs, view.period_to))
    if page.domain == "tasks":
        st.caption(f"临期：未完成、{ctx.settings.task_due_soon_days} 天内到期(截止时点起算)；"
                   "全市性任务只计入全市及其责任单位")

    def rank_key() -> str:
        return st.selectbox("排名指标", page.rank_keys, format_func=lambda k: METRICS[k].label,
                            key=f"{page.domain}_rank", bind="query-params")
    if page.domain in ("issues", "pairing"):  # the ledgers say their snapshot above
        C.stale_notes(ctx, view, (page.domain,))

    level = view.child_level(page.domain)
    key = None
    if level is not None:
        st.subheader(f"{ {'district': '各区县', 'street': '各街道', 'community': '各社区', 'grid': '各网格'}[level]}排名")
        key = rank_key()
        left, right = st.columns([3, 2], gap="large")
        with left:
            df = C.ranking_block(ctx, view, page.domain, key, filters)
        with right:
            C.map_block(ctx, view, page.domain, key, df)
    else:
        df = None
        st.caption("已是最细层级")
    for group in page.group_rankings:
        st.subheader(f"{GROUP_LEVELS[page.domain][group]}排名")
        if key is None:
            key = rank_key()
        C.group_ranking_block(ctx, view, page.domain, group, key, filters)

    st.subheader("趋势(近12个月)")
    C.trend_block(ctx, view, page.domain, page.trend_keys, filters)

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
                _breakdowns(ctx, page, sel)
            elif label == "红黄绿灯":
                supervision.lights_tab(ctx, view, page.domain, filters)
            elif label == "明细":
                if df is not None and not df.empty:
                    C.units_table(ctx, view, page.domain, df, name=page.title, key=key,
                                  filters=filters)
                else:
                    st.caption("已是最细层级，没有下一级明细" if level is None else "下一级没有单位")
            else:
                f = next(f for f in page.follow_ups if f.label == label)
                _follow_up(ctx, view, page.domain, f, filters)

    supervision.downloads(ctx, view, page=page.domain, key=page.domain)
    C.definitions_panel(ctx, view, page.domain, filters)


def _breakdowns(ctx: Ctx, page: DomainPage, sel) -> None:
    cols = st.columns(len(page.breakdowns))
    for col, b in zip(cols, page.breakdowns, strict=True):
        with col:
            bd = cache.breakdown(ctx.con, page.domain, sel, b.by, ctx.sig(page.domain), ctx.settings)
            if bd.empty or not pd.to_numeric(bd[b.value], errors="coerce").fillna(0).any():
                st.caption(f"{b.label}：所选范围内暂无数据")
                continue
            fig = C.figure(repr(("bd", page.domain, sel, ctx.sig(page.domain), ctx.settings, b)),
                           lambda bd=bd, b=b: charts.breakdown_bars(bd, b.value, label=b.label))
            C.plotly_chart(fig, key=f"bd_{page.domain}_{b.by}")


def _follow_up(ctx: Ctx, view: View, domain: str, f: FollowUp, filters: dict) -> None:
    lst = cache.follow_up(ctx.con, f.which, view.selection(filters=filters),
                          ctx.sig(domain), ctx.settings)
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
