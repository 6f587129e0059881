"""督办与预警 on the pages: the 红黄绿灯 table of a domain, 连续后进 and 进步/退步 on 总览, and the
督办通知 / PDF downloads. The rules themselves are in ``metrics.supervision``; this only draws."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from metrics import supervision as S
from metrics.contract.schema import LEVEL_LABELS
from metrics.definitions import DOMAIN_LABELS, METRICS, format_value
from metrics.exports import build as exports
from metrics.exports.slides import HEADLINE
from ui.reader import Reader
from ui.state import Ctx, View


def light_cell(rec: dict) -> str:
    """``74.3% 红灯``: the value and its light, in the table's text (colour-blind readers and
    copies to Excel keep the meaning without the fill)."""
    value = format_value(rec["key"], rec["value"])
    if rec["light"] is None:
        return value
    return f"{value} {S.LIGHT_LABELS[rec['light']]}" + ("*" if rec["escalated"] else "")


def lights_wide(lt: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(text, state) frames with one row per unit and one column per rate key that has any
    light; empty frames when nothing has a target."""
    lit = lt[lt["light"].notna()] if not lt.empty else lt
    keys = list(dict.fromkeys(lit["key"])) if not lit.empty else []
    if not keys:
        return pd.DataFrame(), pd.DataFrame()
    text_rows, state_rows = [], []
    for (_code, name), g in lt[lt["key"].isin(keys)].groupby(["unit_code", "unit_name"], sort=False,
                                                             dropna=False):
        recs = {r["key"]: r for r in g.to_dict("records")}
        text_rows.append({"单位": name, **{METRICS[k].label: light_cell(recs[k]) if k in recs else "—"
                                          for k in keys}})
        state_rows.append({"单位": None, **{METRICS[k].label: recs[k]["light"] if k in recs else None
                                          for k in keys}})
    return pd.DataFrame(text_rows), pd.DataFrame(state_rows)


def _fill(state: str | None) -> str:
    if state is None:
        return ""
    text = "#1F2933" if state == S.YELLOW else "#FFFFFF"
    return f"background-color: {S.LIGHT_COLORS[state]}; color: {text}"


def lights_tab(ctx: Ctx, view: View, r: Reader) -> None:
    """The 红黄绿灯 table of the level below (or of the unit itself at the finest level)."""
    domain = r.domain
    level = r.child_level or view.unit_level
    lt = r.lights(level)
    text, state = lights_wide(lt)
    if text.empty:
        st.info("本板块的指标没有设置年度目标，不亮灯(可在“数据上传”页上传目标表)")
        return
    counts = lt["light"].value_counts()
    st.markdown(" · ".join(
        f'<b style="color:{S.LIGHT_COLORS[s]}">●{S.LIGHT_LABELS[s]} {int(counts.get(s, 0))} 项</b>'
        for s in (S.RED, S.YELLOW, S.GREEN)), unsafe_allow_html=True)
    styled = text.style.apply(lambda _: state.map(_fill).to_numpy(), axis=None)
    st.dataframe(styled, hide_index=True)
    st.caption(S.rule_text(ctx.settings) + " 标 * 的为连续黄灯转为红灯。")
    key = HEADLINE.get(domain)
    if key is not None and view.child_level(domain) is not None:
        movement_lists(r.alerts(key, level), LEVEL_LABELS[level], ctx)


def movement_lists(a: S.Alerts, level_word: str, ctx: Ctx) -> None:
    """连续后进 and 进步/退步 of one domain's headline metric."""
    label = METRICS[a.key].label
    if a.lagging:
        st.markdown(f"**连续后进({label})**：" + "、".join(
            f"{x.unit_name}(连续{x.periods}期，{'、'.join(dict.fromkeys(x.reasons))})"
            for x in a.lagging))
    else:
        st.markdown(f"**连续后进({label})**：没有连续{ctx.settings.lagging_months}期后进的{level_word}")
    up, down = S.movers(a.moves)
    if up or down:
        parts = []
        if up:
            parts.append("进步：" + "、".join(f"{m.unit_name} ↑{m.change}" for m in up))
        if down:
            parts.append("退步：" + "、".join(f"{m.unit_name} ↓{-m.change}" for m in down))
        st.markdown(f"**排名升降({label}，与上期比)**：" + "；".join(parts))


def overview_section(ctx: Ctx, view: View, level: str) -> None:
    """总览's 督办预警: per domain the red count, 连续后进 and 进步/退步, and the 督办通知."""
    st.subheader("督办预警")
    st.caption(S.short_rule(ctx.settings) + "；" + S.lagging_text(ctx.settings))
    cols = st.columns(2)
    from metrics.domains.registry import LEVELS

    shown = [(d, k) for d, k in HEADLINE.items() if level in LEVELS[d]]  # tasks: to the street
    for i, (domain, key) in enumerate(shown):
        with cols[i % 2], st.container(border=True):
            a = ctx.reader(view, domain).alerts(key, level)
            reds = a.red_units()
            st.markdown(f"**{DOMAIN_LABELS.get(domain, domain)}**：红灯{LEVEL_LABELS[level]} "
                        f"{len(reds)} 个" + ("：" + "、".join(ctx.name(c) for c in reds[:8])
                                             + ("等" if len(reds) > 8 else "") if reds else ""))
            movement_lists(a, LEVEL_LABELS[level], ctx)


def downloads(ctx: Ctx, view: View, *, page: str | None = None, key: str) -> None:
    """PDF of the page's summary (or of the 推进会 deck) and the 督办通知 DOCX of the red units,
    each built only when clicked."""
    sel = view.selection()
    version = exports.version_string(ctx.signature)
    name = ctx.name(sel.unit) if sel.unit else "全市"
    period = view.period_label()
    render = partial(exports.render, ctx.con, sel=sel, settings=ctx.settings, is_demo=ctx.demo,
                     data_version=version)
    c1, c2, _ = st.columns([1, 1, 2])
    c1.download_button("下载本页摘要 PDF" if page else "导出 PDF",
                       partial(render, "pdf", page=page or "deck"),
                       file_name=f"{name}{PDF_STEMS.get(page, '推进会')}_{period}.pdf",
                       mime=exports.MEDIA_TYPES["pdf"], on_click="ignore", key=f"pdf_{key}")
    c2.download_button("督办通知 DOCX(红灯单位)", partial(render, "docx"),
                       file_name=exports.filename("docx", name, period),
                       mime=exports.MEDIA_TYPES["docx"], on_click="ignore", key=f"docx_{key}",
                       help="每个亮红灯的单位一页：红灯指标、差距、超期事项和整改时限")


PDF_STEMS = {"overview": "总览摘要", "coverage": "两个覆盖摘要", "issues": "问题解决摘要",
             "pairing": "结对联建摘要", "tasks": "重点任务督办摘要", None: "推进会"}
