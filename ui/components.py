"""Streamlit pieces the pages share: KPI cards, ranking, trend, map, tables, downloads, 口径."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import convert_to_base64

from metrics import supervision
from metrics.definitions import (
    COMMON_NOTES,
    DOMAIN_KEYS,
    DOMAIN_LABELS,
    METRICS,
    change,
    format_difference,
    format_kind,
    format_value,
    target_gap,
)
from metrics.domains import ranking
from metrics.domains.ranking import chart_rows, rank
from metrics.exports.build import MEDIA_TYPES
from metrics.exports.xlsx import frames_to_xlsx, safe_csv_text
from metrics.selection import month_index, month_label
from ui import charts
from ui.state import Ctx, View, drill_to, link_notices


class BuiltFigure(go.Figure):
    """A figure that is not changed after building, so its dict is made once: ``st.plotly_chart``
    asks for it on every rerun, and plotly deep-copies the whole figure each time."""

    def to_dict(self) -> dict:
        made = self.__dict__.get("_gb_dict")
        if made is None:
            made = super().to_dict()
            # plotly.io.to_json turns number arrays into typed-array specs in place; doing it
            # here, once, leaves later (concurrent) serialisations nothing to change.
            convert_to_base64(made)
            self.__dict__["_gb_dict"] = made
        return made


@st.cache_resource(max_entries=512, show_spinner=False)
def _figure(key: str, _build: Callable[[], go.Figure]) -> go.Figure:
    fig = BuiltFigure(_build())
    fig.to_dict()
    return fig


def figure(key: str, build: Callable[[], go.Figure]) -> go.Figure:
    """A chart built once per data version and selection (``key`` says which), not on every
    rerun: building plotly figures is most of a cached page's time. Figures are never mutated
    after building, so sessions may share them."""
    return _figure(key, build)


CHART_CONFIG = {"displaylogo": False, "displayModeBar": False}


def plotly_chart(fig: go.Figure, *, key: str, on_select=None) -> None:
    """Our charts carry their own template and colours (``charts.TEMPLATE``), so Streamlit's
    theme is off: re-theming each figure in the browser cost as much as drawing it."""
    if on_select is None:
        st.plotly_chart(fig, key=key, config=CHART_CONFIG, theme=None)
    else:
        st.plotly_chart(fig, key=key, config=CHART_CONFIG, theme=None, on_select=on_select,
                        selection_mode="points")


def confirm_row(message: str, *, ok_label: str, ok_key: str, on_ok: Callable, args: tuple = (),
                cancel_key: str, on_cancel: Callable) -> None:
    """The second click of a two-click change that is hard to take back: a warning that says
    what will happen, then the primary 确认… button beside 取消."""
    st.warning(message)
    with st.container(horizontal=True):
        st.button(ok_label, type="primary", key=ok_key, on_click=on_ok, args=args)
        st.button("取消", key=cancel_key, on_click=on_cancel)


def can_see_sql() -> bool:
    acct = st.session_state.get("account")
    return acct is None or acct.role in ("analyst", "admin")


def breadcrumb(ctx: Ctx, view: View) -> None:
    """全市 › 区 › 街道 › 社区, each a button back up (after any notice about a stale link)."""
    link_notices(view)
    chain: list[str | None] = [None]
    if view.unit:
        chain += [view.unit[:n] for n in (6, 9, 12) if len(view.unit) >= n]
    if view.scope:  # nothing above the viewer's own unit
        chain = [c for c in chain if c and len(c) >= len(view.scope)]
    cols = st.columns([1] * len(chain) + [max(1, 8 - len(chain))], gap="small")
    for i, code in enumerate(chain):
        last = i == len(chain) - 1
        label = ("› " if i else "") + ctx.name(code)
        cols[i].button(label, key=f"crumb_{i}", on_click=drill_to, args=(code,), disabled=last,
                       type="tertiary")


def _delta(key: str, now: object, before: object) -> str | None:
    """The card's 环比: from the raw values, rounded once (the slides and exports use the same
    ``definitions.change``)."""
    d = change(key, now, before)
    if d is None:
        return None
    return format_difference(METRICS[key].kind, d)


def kpi_cards(items: list[tuple[str, str]], cards: dict, settings, *, per_row: int = 4) -> None:
    """st.metric cards labelled exactly as docs/contract/metrics.md, with 环比 and target progress.

    ``items`` are (domain, key) pairs; ``cards`` each domain's ``ui.reader.Card``.
    """
    # One keyed box around every card: on a phone the CSS (static/app.css, .st-key-gb_kpis)
    # flows the cards of all rows two per line, with no blank slot after an odd row.
    box = st.container(key="gb_kpis")
    for start in range(0, len(items), per_row):
        cols = box.columns(per_row)
        for col, (domain, key) in zip(cols, items[start:start + per_row], strict=False):
            card = cards[domain]
            row, prow, tg, elapsed, lit = (card.row, card.previous, card.targets, card.elapsed,
                                           card.lights)
            m = METRICS[key]
            with col:
                delta = _delta(key, row[key], prow[key] if prow is not None else None)
                flat = delta is not None and not delta.startswith(("+", "-"))
                st.metric(
                    m.label, format_value(key, row[key]), delta="持平" if flat else delta,
                    delta_color="off" if flat else delta_colour(key),
                    delta_arrow="off" if flat else "auto",
                    delta_description="环比" if delta is not None else None,
                    help=m.definition, border=True,
                )
                code = row["unit_code"] if isinstance(row["unit_code"], str) else None
                t = tg.get(key, {}).get(code)
                if t:
                    light = supervision.light_of(lit, key, code)
                    st.markdown(target_line(key, row[key], t, elapsed, light=light,
                                            rule=supervision.short_rule(settings)),
                                unsafe_allow_html=True)


def gap_points(key: str, value: object, target: object) -> str:
    """A target gap in percentage points, from the raw values, rounded once; a miss smaller
    than 0.05 points is not "−0.0"."""
    d = target_gap(key, value, target)
    if d is None:
        return "—"
    if d == 0 and value != target:
        return "−<0.1" if value < target else "+<0.1"
    return format_difference(METRICS[key].kind, d, unit=False) if d else "0.0"


def delta_colour(key: str) -> str:
    """Green for a better change, red for a worse one; grey where more is neither (受理量)."""
    m = METRICS[key]
    if m.fewer_is_better:
        return "inverse"
    return "normal" if m.kind in ("rate", "score") else "off"


def target_line(key: str, value: object, t: dict, elapsed: float, *, light: dict | None = None,
                rule: str = "") -> str:
    """The line under a card: target, met or not, the gap and 时间进度; with ``light`` (a row
    of ``supervision.lights``) a 红黄绿灯 dot whose tooltip is the rule."""
    ok, gap = t["target_met"], t["target_gap"]
    status = "—" if ok is None else ("达标" if ok else "未达标")
    colour = "#2E7D32" if ok else "#C62828"
    gap_txt = "" if gap is None else f"，差距 {gap_points(key, value, t['target'])}个百分点"
    dot = ""
    if light is not None and light.get("light") is not None:
        state = light["light"]
        why = "(连续黄灯转红灯)" if light.get("escalated") else ""
        dot = (f'<span class="gb-light" title="{html.escape(rule)}" '
               f'style="color:{supervision.LIGHT_COLORS[state]}">●</span>'
               f'<b style="color:{supervision.LIGHT_COLORS[state]}">{supervision.LIGHT_LABELS[state]}{why}</b> · ')
    return (f'<div class="gb-target">{dot}目标 {format_value(key, t["target"])} · '
            f'<b style="color:{colour}">{status}</b>{gap_txt} · 时间进度 {format_kind("rate", elapsed)}</div>')


def _on_chart_select(key: str) -> None:
    state = st.session_state.get(key)
    try:
        points = state["selection"]["points"]
    except (KeyError, TypeError):
        return
    if points:
        code = points[0].get("customdata", [None])[0]
        if code:
            drill_to(code)


def _on_table_select(key: str, codes: list[str]) -> None:
    state = st.session_state.get(key)
    try:
        rows = state["selection"]["rows"]
    except (KeyError, TypeError):
        return
    if rows and 0 <= rows[0] < len(codes) and codes[rows[0]]:
        drill_to(codes[rows[0]])


def ranking_block(df: pd.DataFrame, key: str, targets: dict, *, settings, figure_key: str,
                  chart_key: str, drillable: bool) -> None:
    """The ranking of the level below: bars (best first, the middle left out of a long list),
    then the 红榜 and 黑榜. ``targets``: the key's targets per unit code; ``drillable``: a click
    on a bar opens that unit."""
    if df.empty:
        st.info("下一级没有单位")
        return
    ranked = rank(df, key, n=settings.ranking_n)
    if not ranked[key].notna().any():  # no rows behind any unit: words, never empty axes
        no_data(f"所选范围内没有“{METRICS[key].label}”的数据，暂无排名")
        return
    limit = settings.ranking_chart_max_units
    drawn = chart_rows(ranked, key, limit=limit)
    fig = figure(figure_key, lambda: charts.ranking_bars(drawn, key, targets))
    n_ranked = int(ranked[key].notna().sum())
    if len(drawn) < n_ranked:
        st.caption(f"共 {n_ranked:,} 个单位，图中为前 {limit // 2} 名和后 {limit - limit // 2} 名；"
                   "完整排名见下方“明细”")
    if drillable:  # said in words: a touch screen has no hover to reveal the tooltip's hint
        drill_hint("点击柱条查看该单位的下一级")
    plotly_chart(fig, key=chart_key,
                 on_select=partial(_on_chart_select, chart_key) if drillable else None)
    red_black_lists(ranked)


def red_black_lists(ranked: pd.DataFrame) -> None:
    """The names on the 红榜 and the 黑榜, under a ranking chart."""
    red = ranked[ranked["red"]]["unit_name"].tolist()
    black = ranked[ranked["black"]]["unit_name"].tolist()
    st.markdown(
        f'<div class="gb-lists"><span class="gb-red">红榜</span> {"、".join(red) or "—"}'
        f'&emsp;<span class="gb-black">黑榜</span> {"、".join(black) or "—"}</div>',
        unsafe_allow_html=True)


def group_ranking_block(domain: str, group: str, key: str, df: pd.DataFrame,
                        prev: pd.DataFrame | None, total: pd.DataFrame, targets: dict, *,
                        settings, figure_key: str, period_label: str) -> None:
    """The ranking of a group level (责任单位 of 重点任务督办) over the selected unit: bars with
    红榜/黑榜, then the table with 上期, 环比, 排名变化, 目标, 差距 and the unit's 合计 row. Its rows
    are no units, so nothing drills down; the city's target applies to every row (``targets``:
    the key's, per group value)."""
    from metrics.domains.registry import GROUP_LEVELS

    name = GROUP_LEVELS[domain][group]
    if df.empty:
        st.info(f"所选范围内没有{name}")
        return
    ranked = rank(df, key, n=settings.ranking_n)
    limit = settings.ranking_chart_max_units
    drawn = chart_rows(ranked, key, limit=limit)
    fig = figure(figure_key, lambda: charts.ranking_bars(drawn, key, targets, drillable=False))
    n_ranked = int(ranked[key].notna().sum())
    if len(drawn) < n_ranked:
        st.caption(f"共 {n_ranked:,} 个{name}，图中为前 {limit // 2} 名和后 {limit - limit // 2} 名")
    plotly_chart(fig, key=f"grank_{domain}_{group}")
    red_black_lists(ranked)
    table = ranking_frame(df, prev, total, domain, key, targets,
                          n=settings.ranking_n).drop(columns=["unit_code"])
    cfg = column_config(domain, key)
    cfg["unit_name"] = st.column_config.TextColumn(name, width=150, pinned=True)
    st.caption(f"{name}按{METRICS[key].label}排名；“排名变化”与上一统计期相比；末行为合计")
    st.dataframe(table, hide_index=True, column_config=cfg, key=f"table_{domain}_{group}",
                 height=min(420, 38 + 35 * len(table)))
    downloads(export_frame(table, domain, key).rename(columns={"单位": name}),
              f"{DOMAIN_LABELS[domain]}_{name}排名_{period_label}",
              key=f"dl_{domain}_{group}")


def no_data(text: str) -> None:
    """The empty state of a chart: a sentence instead of axes with nothing on them."""
    st.info(text, icon=":material/info:")


STALE_TEXT = {
    "coverage": "两新组织台账最新一期为{latest}，{shown}的台账尚未上传：两个覆盖按{latest}台账统计",
    "grids": "网格与小区台账最新一期为{latest}，{shown}的台账尚未上传：网格与小区按最近一期统计",
    "issues": "工单数据最新到{latest}，{shown}的工单尚未上传：问题解决暂无{shown}的数字",
    "pairing": "双报到月报最新为{latest}，{shown}的月报尚未上传",
}


def stale_notes(latest: dict[str, int | None], shown_month: str | None) -> list[str]:
    """For each domain whose newest month (``latest``: domain → month index) is older than the
    month shown (11月台账未上传), which month's data the page shows instead."""
    if not shown_month:
        return []
    shown = month_index(shown_month)
    notes = []
    for domain, newest in latest.items():
        if newest is not None and newest < shown:
            notes.append(STALE_TEXT[domain].format(latest=month_label(newest),
                                                   shown=month_label(shown)))
    for text in notes:
        st.caption("⚠ " + text)
    return notes


def drill_hint(text: str) -> None:
    st.markdown(f'<div class="gb-hint">{html.escape(text)}</div>', unsafe_allow_html=True)


def trend_block(domain: str, keys: list[str], tr: pd.DataFrame, target: float | None, *,
                figure_key: str) -> None:
    """The keys month by month (``tr``: one row per month), with the first key's target."""
    if tr.empty or not any(k in tr and tr[k].notna().any() for k in keys):
        no_data("所选范围内暂无趋势数据")
        return
    fig = figure(figure_key, lambda: charts.trend_lines(tr, keys, target))
    plotly_chart(fig, key=f"trend_{domain}")


def map_block(domain: str, key: str, df: pd.DataFrame | None, level: str | None, *,
              data_dir: Path, figure_key: str, colours: Callable[[], tuple[dict, dict]],
              light_rule: str) -> None:
    """The choropleth of the level below (districts or streets) from the uploaded boundaries;
    ``colours()`` gives (targets of ``key``, lights by unit), asked only when the figure is
    built."""
    if df is None or df.empty or level not in ("district", "street"):
        st.caption("地图仅在全市(按区县)和区县(按街道)层级显示")
        return
    if key not in df or not df[key].notna().any():
        return  # the ranking beside it already says there is nothing to show
    path = Path(data_dir) / "boundaries.geojson"
    if not path.exists():
        st.info("尚未上传边界数据，暂不显示地图(管理员可在“数据上传”页上传 GeoJSON)")
        return
    mtime = path.stat().st_mtime_ns
    fc, have = _boundaries(str(path), mtime)
    codes = df["unit_code"].tolist()
    missing = [n for c, n in zip(codes, df["unit_name"].tolist(), strict=True) if c not in have]
    if missing:
        st.info(f"以下单位缺少边界，为避免误导不绘制地图：{'、'.join(missing[:10])}"
                + ("等" if len(missing) > 10 else ""))
        return

    def build() -> go.Figure:
        wanted = set(codes)
        features = {"type": "FeatureCollection",
                    "features": [f for f in fc["features"] if f["properties"]["code"] in wanted]}
        tg, lit = colours()
        return charts.choropleth(features, df, key, tg, lights=lit, light_rule=light_rule)

    ck = f"map_{domain}"
    drill_hint("点击地图区块查看该单位的下一级")
    fig = figure(repr((figure_key, mtime)), build)
    plotly_chart(fig, key=ck, on_select=partial(_on_chart_select, ck))


@st.cache_resource(show_spinner=False, max_entries=4)
def _boundaries(path: str, mtime_ns: int) -> tuple[dict, frozenset]:
    """The boundaries file and the codes it has a feature for; shared, never modified."""
    fc = json.loads(Path(path).read_text(encoding="utf-8"))
    return fc, frozenset(f.get("properties", {}).get("code") for f in fc.get("features", []))


def ranking_frame(df: pd.DataFrame, prev: pd.DataFrame | None, total: pd.DataFrame | None,
                  domain: str, key: str, targets: dict, *, n: int) -> pd.DataFrame:
    """The 明细 table: the units ranked by ``key`` with 上月, 环比, 排名变化, 目标 and 差距 of
    that metric, then every other key of the domain, and a 合计 row (the selection's own
    unit) last. Rates ×100 so the grid sorts numbers and shows percentages; 环比 and 差距 are
    in display units, rounded once (the cards' numbers)."""
    moved = ranking.movement(df, prev, key, n=n, targets=targets)
    rate = METRICS[key].is_rate
    scale = 100.0 if rate else 1.0
    out = pd.DataFrame({
        "rank": moved["rank"],
        "rank_move": [ranking.rank_change_text(d) for d in moved["rank_change"]],
        "unit_code": moved["unit_code"],
        "unit_name": moved["unit_name"],
    })
    out[key] = moved[key].astype(float) * scale
    out["prev_value"] = moved["prev_value"].astype(float) * scale
    out["change"] = pd.to_numeric(pd.Series(moved["change"], dtype=object), errors="coerce")
    out["target"] = moved["target"].astype(float) * 100.0
    out["gap"] = pd.to_numeric(pd.Series(moved["gap"], dtype=object), errors="coerce")
    for k in DOMAIN_KEYS[domain]:
        if k != key:
            out[k] = moved[k] * (100.0 if METRICS[k].is_rate else 1.0)
    if total is not None and len(total):
        t = total.iloc[0]
        row = {c: None for c in out.columns}
        row.update({"rank_move": "", "unit_code": None,
                    "unit_name": f"合计({t['unit_name']})"})
        for k in DOMAIN_KEYS[domain]:
            v = t[k]
            row[k] = None if pd.isna(v) else float(v) * (100.0 if METRICS[k].is_rate else 1.0)
        out = pd.concat([out, pd.DataFrame([row])], ignore_index=True)
    return out


def column_config(domain: str, key: str) -> dict:
    m = METRICS[key]

    def number(label: str, kind: str, help_: str | None = None):
        if kind == "rate":
            return st.column_config.NumberColumn(label, format="%.1f%%", help=help_)
        if kind in ("hours", "score"):
            return st.column_config.NumberColumn(label, format="%.1f", help=help_)
        return st.column_config.NumberColumn(label, format="localized", help=help_)

    unit = "个百分点" if m.is_rate else ("分" if m.kind == "score" else "")
    cfg = {"rank": st.column_config.NumberColumn("排名", format="%d", width=60, pinned=True),
           "rank_move": st.column_config.TextColumn("排名变化", width=80, pinned=True,
                                                    help="与上一统计期相比，名次上升↑、下降↓"),
           "unit_code": st.column_config.TextColumn("代码", width=110),
           "unit_name": st.column_config.TextColumn("单位", width=130, pinned=True),
           key: number(m.label, m.kind, m.definition),
           "prev_value": number(f"上期{m.label}", m.kind),
           "change": st.column_config.NumberColumn(
               f"环比{('(' + unit + ')') if unit else ''}", format="%+.1f" if m.kind != "count"
               else "%+d", help="本期 − 上期，由原始值计算后四舍五入"),
           "target": st.column_config.NumberColumn("目标", format="%.1f%%"),
           "gap": st.column_config.NumberColumn(f"差距{('(' + unit + ')') if unit else ''}",
                                                format="%+.1f", help="本期 − 目标")}
    for k in DOMAIN_KEYS[domain]:
        if k != key:
            cfg[k] = number(METRICS[k].label, METRICS[k].kind, METRICS[k].definition)
    return cfg


def export_frame(table: pd.DataFrame, domain: str, key: str) -> pd.DataFrame:
    """The ranking table with Chinese headers and raw rates (fractions) for CSV/XLSX."""
    out = table.copy()
    scaled = [k for k in DOMAIN_KEYS[domain] if METRICS[k].is_rate] + ["target"]
    if METRICS[key].is_rate:
        scaled.append("prev_value")
    for k in scaled:
        out[k] = out[k] / 100.0
    cfg = column_config(domain, key)
    out.columns = [cfg[c]["label"] if isinstance(cfg[c], dict) else c for c in out.columns]
    return out


def units_table(domain: str, df: pd.DataFrame | None, prev: pd.DataFrame | None,
                total: pd.DataFrame | None, targets: dict, *, key: str, settings, stem: str,
                drillable: bool) -> None:
    """The 明细 table of the level below (``ranking_frame``) and its downloads; ``targets``:
    the key's, per unit code."""
    if df is None or df.empty:
        return
    table = ranking_frame(df, prev, total, domain, key, targets, n=settings.ranking_n)
    codes = [c if isinstance(c, str) else None for c in table["unit_code"]]
    tkey = f"table_{domain}"
    st.caption(f"按{METRICS[key].label}排名；“排名变化”与上一统计期相比；末行为合计"
               + ("；点击一行查看该单位的下一级" if drillable else ""))
    st.dataframe(table, hide_index=True, column_config=column_config(domain, key),
                 key=tkey, on_select=partial(_on_table_select, tkey, codes) if drillable
                 else "ignore", selection_mode="single-row")
    downloads(export_frame(table, domain, key), stem, key=f"dl_{domain}")


def downloads(df: pd.DataFrame, stem: str, *, key: str) -> None:
    c1, c2, _ = st.columns([1, 1, 6])
    # Files are made on click, not on every rerun (an XLSX of thousands of rows costs time).
    c1.download_button("下载 CSV", partial(safe_csv_text, df), file_name=f"{stem}.csv",
                       mime=MEDIA_TYPES["csv"], key=f"{key}_csv", on_click="ignore")
    c2.download_button("下载 XLSX", partial(frames_to_xlsx, {"数据": df}), file_name=f"{stem}.xlsx",
                       mime=MEDIA_TYPES["xlsx"], key=f"{key}_xlsx", on_click="ignore")


def definitions_panel(domain: str, settings, explain: Callable[[], dict]) -> None:
    """口径说明 and, for analysts, the SQL (``explain()``, asked only while that panel is open)."""
    # Drawn only while open (see domain_page: what is not looked at is not sent).
    with st.expander("口径说明", key=f"{domain}_defs", on_change="rerun") as panel:
        if panel.open:
            _definitions(settings, domain)
    if can_see_sql():
        with st.expander("查看 SQL", key=f"{domain}_sql", on_change="rerun") as panel:
            if panel.open:
                st.code(explain()["sql"], language="sql")


def _definitions(settings, domain: str) -> None:
    # No column of the code's English metric keys: the UI is Chinese throughout.
    rows = [{"指标": METRICS[k].label, "口径": METRICS[k].definition}
            for k in DOMAIN_KEYS[domain]]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    for note in COMMON_NOTES.values():
        st.caption(note)
    st.caption(supervision.rule_text(settings))
    st.caption(supervision.lagging_text(settings))
    if domain == "issues":
        s = settings
        st.caption(f"当前设置：响应时限 {s.response_hours:g} 小时；综合得分权重 响应率 {s.w_response:g}、"
                   f"解决率 {s.w_resolve:g}、满意率 {s.w_satisfaction:g}")


def empty_state(ctx: Ctx) -> None:
    st.info("还没有数据。请在“数据上传”页上传各表(可先下载模板)，或在命令行运行 "
            "`python -m metrics sample` 生成示例数据。")
