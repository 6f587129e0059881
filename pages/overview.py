"""总览: one glance at where each unit stands, who leads and lags, and what to chase."""

import pandas as pd
import streamlit as st

from metrics.contract.schema import LEVEL_LABELS
from metrics.definitions import METRICS, format_value
from metrics.domains.ranking import rank
from metrics.domains.registry import LEVELS
from ui import components as C
from ui import supervision
from ui.domain_page import headline, map_view, ranking, stale_notes
from ui.state import current, freshness

HEADLINE = [("coverage", "org_coverage_rate"), ("coverage", "work_coverage_rate"),
            ("issues", "close_rate"), ("issues", "on_time_rate"),
            ("issues", "satisfaction_rate"), ("issues", "score"),
            ("pairing", "pairing_coverage_rate"), ("pairing", "project_completion_rate"),
            ("grids", "grid_party_org_rate"), ("grids", "property_coverage_rate"),
            ("tasks", "task_completion_rate"), ("tasks", "task_on_time_rate")]

ctx, view = current()
st.title("总览")
if not ctx.months:
    C.empty_state(ctx)
    st.stop()

C.breadcrumb(ctx, view)
if not headline(ctx, view, HEADLINE, {}):
    st.stop()
freshness(ctx, ctx.reader(view, "issues").as_of())
stale_notes(ctx, view, ("coverage", "issues", "pairing", "grids"))

level = view.child_level("coverage")
if level is None:
    st.caption("已是社区层级：各板块明细见对应页面")
    st.stop()

# One frame of the level below: every headline value, for the compact ranking and the map. A
# domain without that level (重点任务督办 stops at the street) leaves its columns out.
DOMAINS = [d for d in dict.fromkeys(d for d, _ in HEADLINE) if level in LEVELS[d]]
RANKED = [(d, k) for d, k in HEADLINE if d in DOMAINS]
READERS = {d: ctx.reader(view, d) for d in DOMAINS}
frames = []
for domain in DOMAINS:
    keys = [k for d, k in HEADLINE if d == domain]
    df = READERS[domain].report(level).frame
    frames.append(df[["unit_code", "unit_name", *keys]].set_index(["unit_code", "unit_name"]))
wide = pd.concat(frames, axis=1).reset_index()

st.subheader(f"各{LEVEL_LABELS[level]}排名")
key = st.selectbox("排名指标", [k for _, k in RANKED], format_func=lambda k: METRICS[k].label,
                   key="overview_rank", bind="query-params")
domain_of = {k: d for d, k in RANKED}
left, right = st.columns([3, 2], gap="large")
with left:
    ranking(ctx, READERS[domain_of[key]], key, chart_key="rank_overview")
with right:
    map_view(ctx, READERS[domain_of[key]], key, READERS[domain_of[key]].report(level).frame)

ranked = rank(wide, key, n=ctx.settings.ranking_n)
shown = ranked[["rank", "unit_name", *[k for _, k in RANKED]]].copy()
for _, k in RANKED:
    shown[k] = [format_value(k, v) for v in shown[k]]
shown.insert(1, "榜单", ["红榜" if r else ("黑榜" if b else "") for r, b in
                        zip(ranked["red"], ranked["black"], strict=True)])
shown.columns = ["排名", "榜单", "单位", *[METRICS[k].label for _, k in RANKED]]
# Every domain's headline is a column: each sized to its longest text (header or value), so all
# of them fit the page without scrolling sideways.
st.dataframe(shown, hide_index=True, column_config={
    c: st.column_config.Column(c, width=int(12.5 * max([len(c), *(len(str(v)) for v in shown[c])])
                                            + 16))
    for c in shown.columns})

st.subheader("需要关注")
c1, c2, c3 = st.columns(3)
below = {}
for domain in DOMAINS:
    tg = READERS[domain].targets(level)
    for k, per_unit in tg.items():
        if (domain, k) not in HEADLINE:
            continue
        for code, t in per_unit.items():
            if t["target_met"] is False:
                below.setdefault(k, []).append((t["target_gap"], ctx.name(code), t))
with c1:
    st.markdown("**未达年度目标**")
    if not below:
        st.success("各单位均已达标或未设目标")
    for k, items in below.items():
        items.sort(key=lambda x: (x[0], x[1]))
        names = "、".join(f"{n}({C.gap_points(k, t['target'] + g, t['target'])})"
                         for g, n, t in items[:5])
        st.markdown(f"- {METRICS[k].label}：{len(items)} 个，差距最大：{names}")


def _top(domain: str, key: str, label: str, unit_word: str) -> None:
    df = READERS[domain].report(level).frame
    total = int(df[key].sum())
    if domain == "tasks":  # a unit's own and whole-city tasks are in no row of the level below
        own = READERS[domain].report().frame
        total = int(own[key].iloc[0])
    worst = df.sort_values([key, "unit_code"], ascending=[False, True]).head(5)
    worst = worst[worst[key] > 0]
    st.markdown(f"**{label}：{total:,} {unit_word}**")
    for n, v in zip(worst["unit_name"], worst[key], strict=True):
        st.markdown(f"- {n}：{int(v):,}")


with c2:
    _top("coverage", "gap_should_build", "应建未建组织", "家")
    _top("issues", "open_overdue", "超期未办结工单", "件")
with c3:
    _top("pairing", "projects_overdue", "逾期未完成项目", "个")
    if "tasks" in DOMAINS:
        _top("tasks", "tasks_overdue", "逾期未完成重点任务", "项")
    st.page_link("pages/coverage.py", label="查看两个覆盖清单 →")
    st.page_link("pages/issues.py", label="查看超期工单 →")
    st.page_link("pages/pairing.py", label="查看逾期项目 →")
    st.page_link("pages/tasks.py", label="查看超期任务 →")

supervision.overview_section(ctx, view, level)
supervision.downloads(ctx, view, page="overview", key="overview")
