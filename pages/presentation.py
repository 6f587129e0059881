"""推进会: the slide sequence for the selected period and unit, for the big screen, with the
通报 text editable before export (PPTX with native charts, XLSX 通报表)."""

import dataclasses
import datetime as dt
from functools import partial

import streamlit as st

from metrics.exports.build import MEDIA_TYPES, filename, version_string
from metrics.exports.pptx import deck_to_pptx
from metrics.exports.report_xlsx import report_workbook
from metrics.exports.slides import DEFAULT_TITLE, Deck, build_deck
from ui import slides_view
from ui.state import current, link_notices

ctx, view = current()
heading = st.empty()  # the page title, left out in 演示模式
if not ctx.months:
    heading.title("推进会")
    st.info("还没有数据。请先在“数据上传”页上传各表。")
    st.stop()


@st.cache_data(max_entries=32, show_spinner="正在生成演示文稿…")
def _deck(_sel, title: str, host: str, when: dt.date | None, key: str) -> Deck:
    return build_deck(ctx.con, _sel, settings=ctx.settings, title=title, host=host,
                      meeting_date=when, is_demo=ctx.demo,
                      data_version=version_string(ctx.signature))


def _edited(deck: Deck, deck_key: str) -> Deck:
    """The deck with the presenter's edits of the 通报 text."""
    slides = []
    for i, s in enumerate(deck.slides):
        text = st.session_state.get(f"bulletin_{deck_key}_{i}")
        slides.append(dataclasses.replace(s, text=text) if text is not None else s)
    return dataclasses.replace(deck, slides=slides)


def _leave() -> None:
    st.session_state["present"] = False


def _go(delta: int, total: int) -> None:
    st.session_state["slide"] = max(0, min(total - 1, st.session_state.get("slide", 0) + delta))


controls = st.container(key="gb_controls")
with controls:
    c1, c4, c5, c2, c3 = st.columns([2.4, 1.8, 1.3, 1.2, 1.2])
    title = c1.text_input("会议名称", DEFAULT_TITLE, key="meeting_title")
    host = c4.text_input("主办单位", "", key="meeting_host", placeholder="如：中共××市委组织部")
    when = c5.date_input("会议日期", dt.date.today(), key="meeting_date", format="YYYY-MM-DD")
    present = c2.toggle("演示模式", key="present", bind="query-params",
                        help="全屏显示幻灯片，隐藏侧栏与工具栏；左右方向键翻页，Esc 退出")
    print_all = c3.toggle("打印全部页", key="print_all", help="逐页排列，用浏览器打印为 PDF(每页一张)")

link_notices(view)
sel = view.selection()
deck_key = repr((sel, title, host, when, ctx.signature))
deck = _deck(sel, title, host, when, deck_key)
total = len(deck.slides)
if st.session_state.get("deck_key") != deck_key:
    st.session_state["deck_key"] = deck_key
    st.session_state["slide"] = min(st.session_state.get("slide", 0), total - 1)

slides_view.presenter_script()
if not present:
    heading.title("推进会")
else:
    slides_view.present_mode()
    with st.container(key="gb_exit"):
        st.button("退出演示", key="exit_present", on_click=_leave, shortcut="Esc",
                  icon=":material/close_fullscreen:", help="也可按 Esc 键")

if print_all:
    for i, s in enumerate(deck.slides):
        with st.container(key=f"print_slide_{i}"):
            st.markdown('<div class="gb-slide">', unsafe_allow_html=True)
            slides_view.render(deck, s, i, text=st.session_state.get(f"bulletin_{deck_key}_{i}"))
            st.markdown("</div>", unsafe_allow_html=True)
    st.stop()

# In 演示模式 the controls stay on the page, hidden (the arrow keys still press the buttons, and
# their values and the edited 通报 text survive leaving it).
nav = st.container(key="gb_nav").columns([1, 1, 4, 2])
nav[0].button("上一页", on_click=_go, args=(-1, total), shortcut="Left",
              disabled=st.session_state["slide"] <= 0, key="prev_slide")
nav[1].button("下一页", on_click=_go, args=(1, total), shortcut="Right",
              disabled=st.session_state["slide"] >= total - 1, key="next_slide")
nav[2].selectbox("跳转到", range(total), format_func=lambda i: f"{i + 1}. {deck.slides[i].title}",
                 key="slide", label_visibility="collapsed")
interval = nav[3].selectbox("自动翻页", [0, 10, 20, 30, 60],
                            format_func=lambda s: "不自动翻页" if s == 0 else f"每 {s} 秒",
                            key="advance", label_visibility="collapsed",
                            index=[0, 10, 20, 30, 60].index(ctx.settings.slide_advance_seconds)
                            if ctx.settings.slide_advance_seconds in (0, 10, 20, 30, 60) else 0)


@st.fragment(run_every=dt.timedelta(seconds=interval) if interval else None)
def _show() -> None:
    if interval and st.session_state.get("_advanced_at") is not None:
        st.session_state["slide"] = (st.session_state["slide"] + 1) % total
    st.session_state["_advanced_at"] = dt.datetime.now() if interval else None
    i = st.session_state["slide"]
    with st.container(key="gb_stage"):  # what 演示模式 scales to fit the screen
        slides_view.render(deck, deck.slides[i], i,
                           text=st.session_state.get(f"bulletin_{deck_key}_{i}"), present=present)


with st.container(key="gb_slide", border=True):
    _show()

after = st.container(key="gb_after")
i = st.session_state["slide"]
s = deck.slides[i]
if s.text and s.kind not in ("title", "closing"):
    with after.expander("编辑本页通报文字(导出时使用修改后的文字)"):
        st.text_area("通报", s.text, key=f"bulletin_{deck_key}_{i}", height=160,
                     label_visibility="collapsed")

after.divider()
d1, d2, _ = after.columns([1, 1, 3])
stem = filename("pptx", deck.unit_name, deck.period)
d1.download_button("导出 PPTX", partial(deck_to_pptx, _edited(deck, deck_key)),
                   file_name=stem, type="primary", on_click="ignore", key="export_pptx",
                   mime=MEDIA_TYPES["pptx"])
d2.download_button("导出通报表 XLSX",
                   partial(report_workbook, ctx.con, sel, settings=ctx.settings,
                           data_version=version_string(ctx.signature), is_demo=ctx.demo),
                   file_name=filename("xlsx", deck.unit_name, deck.period), on_click="ignore",
                   key="export_xlsx",
                   mime=MEDIA_TYPES["xlsx"])
