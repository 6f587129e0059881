"""The shared frame: data context, sidebar filters bound to the URL, the current Selection.

The selection lives in the URL: ?unit=CODE and the period (?period= or ?pm=区间&from=&to=) are
written on every run; the domain filters and ranking metrics are widgets bound to query
parameters (``bind="query-params"``). A reload or a shared link opens the same view.
Drill-down and quick picks change widget values only through callbacks, which run before the
script renders the widgets.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from metrics.contract import schema as S
from metrics.datadir import ensure_demo, is_demo, resolve_data_dir
from metrics.definitions import DOMAIN_LABELS
from metrics.domains import registry as domains
from metrics.query import Query
from metrics.selection import (
    Selection,
    month_index,
    month_label,
    month_str,
    period_label,
    unit_level,
)
from metrics.settings import Settings, load_settings
from metrics.store.versions import Store
from ui import cache
from ui.reader import Reader

FILTER_LABELS = {
    "org_type": "单位类型", "sector": "新兴领域", "source": "工单来源", "category": "问题类别",
    "partner_level": "结对单位层级", "kind": "项目类别",
    "task_kind": "任务类别", "owner": "责任单位",
}
# The sidebar widget (and URL parameter) of a domain's filter when its column name means
# something else in another domain: 任务类别 (tasks.kind) is not 结对联建's 项目类别 (kind), and
# one shared widget would carry a choice from one page into the other.
FILTER_WIDGETS = {("tasks", "kind"): "task_kind"}
QUICK_PICKS = ("本月", "上月", "本季度", "年初至今")


class UnitIndex:
    """The units table and the lookups every page run makes on it, built once per data version
    and shared by all sessions (read-only: nobody modifies ``frame``)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.names: dict[str, str] = dict(zip(frame["code"], frame["name"], strict=True))
        self._codes_by_level = {lv: g["code"].tolist() for lv, g in frame.groupby("level")}
        self._children: dict[tuple[str, str], list[str]] = {}

    def child_codes(self, code: str | None, level: str) -> list[str]:
        """Codes of the units at ``level`` inside ``code`` (all of them for None), in code order."""
        key = (code or "", level)
        hit = self._children.get(key)
        if hit is None:
            hit = [c for c in self._codes_by_level.get(level, []) if c.startswith(key[0])]
            self._children[key] = hit
        return hit


@dataclass
class Ctx:
    data_dir: Path
    store: Store
    settings: Settings
    signature: tuple  # (table, current version) pairs, shown as the data version
    fingerprint: tuple  # what caches are keyed by (tells apart equal version ids)
    con: duckdb.DuckDBPyConnection
    unit_index: UnitIndex
    months: list[str]
    demo: bool
    # This run's readers (``reader``); a Ctx lives for one run, so they never outlive its data.
    readers: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def units(self) -> pd.DataFrame:
        return self.unit_index.frame

    @property
    def latest(self) -> str | None:
        return self.months[-1] if self.months else None

    def name(self, code: str | None) -> str:
        if not code:
            return "全市"
        return self.unit_index.names.get(code, code)

    def sig(self, domain: str) -> tuple:
        """The domain's tables in the fingerprint this run started with: one snapshot of the
        data per page run (what ``cache.table_signature`` would read now, without re-reading)."""
        by_table = {entry[0]: entry for entry in self.fingerprint[1:]}
        return (self.fingerprint[0], *(by_table[t] for t in domains.TABLES[domain]))

    def reader(self, view: View, domain: str, filters: dict | None = None) -> Reader:
        """The one reader of ``domain`` for ``view`` and ``filters`` in this run."""
        key = (view, domain, repr(sorted((filters or {}).items())))
        found = self.readers.get(key)
        if found is None:
            found = self.readers[key] = Reader(self, view, domain, filters)
        return found


@st.cache_resource(show_spinner=False, max_entries=8)
def _units(_con: duckdb.DuckDBPyConnection, signature: str) -> UnitIndex:
    return UnitIndex(Query("SELECT code, name, level, parent_code FROM units ORDER BY code")
                     .run(_con))


@st.cache_data(show_spinner=False, max_entries=8)
def _months(_con: duckdb.DuckDBPyConnection, signature: str) -> list[str]:
    """The months the sidebar offers: those the monthly extracts cover (never a future start,
    due or completion date); the last is the default, the month the exports default to."""
    r = domains.month_range(_con)
    if r is None:
        return []
    return [month_str(m) for m in range(r[0], r[1] + 1)]


def data_dir() -> tuple[Path, bool]:
    return resolve_data_dir(os.environ.get("GRIDBOARD_DATA_DIR"))


def first_run(hide_navigation) -> None:
    """Make the demo city when the default data dir is still empty, before anything else is
    drawn: ``hide_navigation()`` first (a hidden st.navigation of every page, so the sidebar
    shows no file names and the page asked for is known), then a rerun into the real app."""
    path, is_default = data_dir()
    if not is_default or st.session_state.get("ctx_demo_checked") or not Store(path).is_fresh():
        return
    hide_navigation()
    with st.spinner("首次启动，正在生成示例数据(约需一分钟)…"):
        ensure_demo(path, is_default)
    st.session_state["ctx_demo_checked"] = True
    st.rerun()


def context() -> Ctx:
    path, is_default = data_dir()
    if "ctx_demo_checked" not in st.session_state:
        with st.spinner("首次启动，正在生成示例数据…"):
            ensure_demo(path, is_default)
        st.session_state["ctx_demo_checked"] = True
    store = Store(path)
    settings = load_settings(path)
    fingerprint = store.fingerprint()
    con = cache.connection(str(path), fingerprint, settings)
    return Ctx(path, store, settings, store.signature(), fingerprint, con,
               _units(con, repr(fingerprint)), _months(con, repr(fingerprint)), is_demo(path))


# --- period ---------------------------------------------------------------------------------


def _quick_pick(ctx_latest: str) -> None:
    pick = st.session_state.get("quick")
    if not pick or not ctx_latest:
        return
    last = month_index(ctx_latest)
    if pick == "本月":
        st.session_state.update(pm="单月", period=ctx_latest)
    elif pick == "上月":
        st.session_state.update(pm="单月", period=month_str(last - 1))
    elif pick == "本季度":
        first = last - (last % 12) % 3
        st.session_state.update(pm="区间", **{"from": month_str(first), "to": ctx_latest})
    elif pick == "年初至今":
        first = last - last % 12
        st.session_state.update(pm="区间", **{"from": month_str(first), "to": ctx_latest})
    st.session_state["quick"] = None


def _month_label(m: str) -> str:
    return month_label(month_index(m))


def _stale_month(asked: str, ctx: Ctx) -> str | None:
    """Why a month of a link cannot be shown (None: it can)."""
    if asked in ctx.months:
        return None
    try:
        month_index(asked)
    except ValueError:
        return f"链接中的统计月份“{asked}”无法识别(应为 YYYY-MM，如 {ctx.latest})"
    return (f"链接中的统计月份 {_month_label(asked)} 不在数据范围内"
            f"(现有数据 {_month_label(ctx.months[0])} 至 {_month_label(ctx.months[-1])})")


def _period_from_url(ctx: Ctx) -> None:
    """On a session's first run, a shared link's ?period= (or ?from=&to=) sets the period. A
    month the data does not have (or no month at all) leaves the default, and says so."""
    if st.session_state.get("_period_seeded"):
        return
    st.session_state["_period_seeded"] = True
    qp, months = st.query_params, set(ctx.months)
    if qp.get("from") in months and qp.get("to") in months:
        st.session_state.update({"pm": "区间", "from": qp["from"], "to": qp["to"]})
    elif qp.get("period") in months:
        st.session_state.update({"pm": "单月", "period": qp["period"]})
    else:
        for name in ("period", "from", "to"):
            asked = qp.get(name)
            why = _stale_month(asked, ctx) if asked else None
            if why:
                _notice(f"{why}，现显示 {_month_label(ctx.latest)}(最新月份)。")
                break


def _notice(text: str) -> None:
    st.session_state.setdefault("_link_notices", []).append(text)


def link_notices(view: View) -> None:
    """What a stale link asked for and what is shown instead, while the view is the one the
    link was answered with (a new choice in the sidebar retires the notice)."""
    notices = st.session_state.get("_link_notices")
    if not notices:
        return
    shown = st.session_state.setdefault("_link_notice_view", view.key())
    if shown != view.key():
        st.session_state.pop("_link_notices", None)
        return
    for text in notices:
        st.warning(text, icon=":material/link_off:")


def period_widgets(ctx: Ctx) -> tuple[str | None, str | None]:
    """Single month or range, with quick picks. The chosen months are always written to the
    URL (also the default month), so a link keeps meaning the same view after the next upload
    moves the latest month."""
    if not ctx.months:
        st.sidebar.caption("暂无数据")
        return None, None
    _period_from_url(ctx)
    months_desc = list(reversed(ctx.months))
    state = st.session_state
    if state.get("pm") not in ("单月", "区间"):
        state["pm"] = "单月"
    if state.get("period") not in months_desc:
        state["period"] = months_desc[0]
    if state.get("to") not in months_desc:
        state["to"] = months_desc[0]
    if state.get("from") not in months_desc:
        state["from"] = months_desc[min(2, len(months_desc) - 1)]
    side = st.sidebar
    side.pills("快捷选择", QUICK_PICKS, key="quick", on_change=_quick_pick, args=(ctx.latest,),
               help=f"以数据最新月份 {ctx.latest} 为“本月”")
    mode = side.segmented_control("统计期", ["单月", "区间"], key="pm", required=True)
    if mode == "区间":
        c1, c2 = side.columns(2)
        first = c1.selectbox("起始月份", months_desc, key="from")
        last = c2.selectbox("结束月份", months_desc, key="to")
        if first > last:
            side.warning("起始月份晚于结束月份，已按结束月份单月统计")
            first = last
        _set_params({"pm": "区间", "from": first, "to": last}, drop=("period",))
        return first, last
    period = side.selectbox("统计月份", months_desc, key="period")
    _set_params({"period": period}, drop=("pm", "from", "to"))
    return period, period


def _set_params(values: dict[str, str], *, drop: tuple[str, ...] = ()) -> None:
    """Write query parameters only where they change, so the URL keeps a stable order."""
    for k in drop:
        if k in st.query_params:
            del st.query_params[k]
    for k, v in values.items():
        if st.query_params.get(k) != v:
            st.query_params[k] = v


# --- unit -----------------------------------------------------------------------------------


def _reset_below(*keys: str) -> None:
    for k in keys:
        st.session_state[k] = ""


def scope_of_session() -> str | None:
    acct = st.session_state.get("account")
    return getattr(acct, "scope", None) if acct else None


def _unit_from_url(ctx: Ctx) -> None:
    """On a session's first run, the ?unit= code of a shared link sets the cascade."""
    if st.session_state.get("_unit_seeded"):
        return
    st.session_state["_unit_seeded"] = True
    code = st.query_params.get("unit", "")
    if code and code in ctx.unit_index.names:
        drill_to(code)
    elif code:
        _notice(f"链接中的区划代码“{code}”在区划表中不存在，现显示全市。")


def unit_widgets(ctx: Ctx) -> str | None:
    """District → street → community cascade. The chosen unit lives in ?unit=CODE (codes, not
    names, so a link survives renamed units); the widgets themselves are not URL-bound because
    a bound selectbox stores its label."""
    _unit_from_url(ctx)
    scope = scope_of_session() or ""
    side = st.sidebar
    names = ctx.unit_index.names
    fmt = lambda c: names.get(c, c) if c else "全部"  # noqa: E731
    d_opts = [""] + ctx.unit_index.child_codes(None, "district")
    if len(scope) >= 6:
        d_opts = [scope[:6]]
    for key, opts in (("district", d_opts),):
        if st.session_state.get(key) not in opts:
            st.session_state[key] = opts[0]
    district = side.selectbox("区县", d_opts, format_func=lambda c: names.get(c, c) if c else "全市",
                              key="district", disabled=len(d_opts) == 1,
                              on_change=_reset_below, args=("street", "community"))
    street = community = ""
    if district:
        s_opts = [""] + ctx.unit_index.child_codes(district, "street")
        if len(scope) >= 9:
            s_opts = [scope[:9]]
        if st.session_state.get("street") not in s_opts:
            st.session_state["street"] = s_opts[0]
        street = side.selectbox("街道", s_opts, format_func=fmt, key="street",
                                disabled=len(s_opts) == 1, on_change=_reset_below,
                                args=("community",))
    if street:
        c_opts = [""] + ctx.unit_index.child_codes(street, "community")
        if st.session_state.get("community") not in c_opts:
            st.session_state["community"] = ""
        community = side.selectbox("社区", c_opts, format_func=fmt, key="community")
    unit = community or street or district or None
    if scope and (unit is None or not unit.startswith(scope)):
        unit = scope
    if unit:
        _set_params({"unit": unit})
    elif "unit" in st.query_params:
        del st.query_params["unit"]
    return unit


def drill_to(code: str | None) -> None:
    """Set the unit widgets to ``code`` (call from a callback, before widgets render)."""
    code = code or ""
    st.session_state["district"] = code[:6] if len(code) >= 6 else ""
    st.session_state["street"] = code[:9] if len(code) >= 9 else ""
    st.session_state["community"] = code[:12] if len(code) >= 12 else ""


# --- domain filters -------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def filter_options(_con: duckdb.DuckDBPyConnection, domain: str, name: str, signature: str,
                   scope: str | None = None) -> list[str]:
    return domains.filter_options(_con, domain, name, scope=scope)


def domain_filters(ctx: Ctx, domain: str) -> dict[str, list[str]]:
    out = {}
    if not domains.FILTERS[domain]:
        return {}
    st.sidebar.markdown(f"**{DOMAIN_LABELS[domain]}筛选**")
    for name in domains.FILTERS[domain]:
        widget = FILTER_WIDGETS.get((domain, name), name)
        opts = filter_options(ctx.con, domain, name, repr(ctx.fingerprint), scope_of_session())
        chosen = st.sidebar.multiselect(FILTER_LABELS[widget], opts, key=widget,
                                        bind="query-params", placeholder="全部")
        if chosen:
            out[name] = chosen
    return out


# --- selection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What the sidebar selected: unit, period; pages build Selections from it."""

    unit: str | None
    period_from: str | None
    period_to: str | None
    scope: str | None

    @property
    def unit_level(self) -> str:
        return unit_level(self.unit)

    def child_level(self, domain: str) -> str | None:
        """The level ranked under the unit, None when ``domain`` does not report it."""
        return domains.rank_level(domain, self.unit_level)

    def selection(self, level: str | None = None, filters: dict | None = None,
                  as_of: dt.datetime | None = None) -> Selection:
        return Selection.make(level or self.unit_level, period_from=self.period_from,
                              period_to=self.period_to, unit=self.unit, filters=filters,
                              scope=self.scope, as_of=as_of)

    def key(self) -> tuple:
        return (self.unit, self.period_from, self.period_to)

    def period_label(self) -> str:
        if not self.period_to:
            return "—"
        return period_label(month_index(self.period_from or self.period_to),
                            month_index(self.period_to))


def sidebar(ctx: Ctx) -> View:
    first, last = period_widgets(ctx)
    unit = unit_widgets(ctx)
    return View(unit, first, last, scope_of_session())


def freshness(ctx: Ctx, as_of: dt.datetime | None = None) -> None:
    """Data freshness on every page: as_of in force, last upload of each table, demo label."""
    parts = []
    if as_of is not None:
        parts.append(f"截止时点 {as_of:%Y-%m-%d %H:%M:%S}")
    ups = []
    for t, table in S.TABLES.items():
        cur = ctx.store.current(t)
        if cur:
            ups.append(f"{table.short_label} {cur['created_at'][:16].replace('T', ' ')}")
    if ups:
        parts.append("最近上传：" + "，".join(ups))
    text = " · ".join(parts)
    if ctx.demo:
        st.markdown(
            '<span class="gb-demo">示例数据</span> ' + f'<span class="gb-fresh">{text}</span>',
            unsafe_allow_html=True)
    else:
        st.caption(text)


def set_current(ctx: Ctx, view: View) -> None:
    """app.py hands the frame to the page script it runs."""
    st.session_state["_frame"] = (ctx, view)


def current() -> tuple[Ctx, View]:
    """The frame app.py built for this run.

    A process's very first run can reach a page file directly: with a pages/ folder Streamlit
    starts in its legacy folder routing until app.py has called st.navigation once. Then the
    page runs app.py itself (which builds the frame and runs this page) and stops its own run.
    """
    # Taken, not read: a page run that did not start in app.py must never see an old frame.
    frame = st.session_state.pop("_frame", None)
    if frame is None:
        import runpy

        runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"), run_name="__main__")
        st.stop()
    return frame
