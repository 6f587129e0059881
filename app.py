"""网格治理看板 — entry point: page config, shared filters, navigation (a router only)."""

from pathlib import Path

import streamlit as st

from ui import auth_gate, localize, state

st.set_page_config(page_title="网格治理看板", page_icon=str(Path(__file__).with_name("static") / "favicon.png"),
                   layout="wide",
                   initial_sidebar_state="auto")  # collapsed on a phone
st.html(Path(__file__).with_name("static").joinpath("app.css").read_text(encoding="utf-8"))


def page_list(account) -> dict[str, list]:
    """The navigation's sections. 数据上传 and the 管理 pages are always routable, so a link to one
    says 请先登录 (or who may use it) rather than landing on 总览; they are listed only for the
    roles that may use them (each page itself stops everybody else before showing anything).
    Unlisted pages go to the end of 看板, which always shows: a section of hidden pages alone
    would show its header with nothing under it. The dashboard pages come first (总览, the
    default page, heads the list: localize.with_not_found falls back to it)."""
    can_upload = account is not None and account.can_upload()
    can_admin = account is not None and account.can_admin()
    board = [
        st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", url_path="overview",
                default=True),
        st.Page("pages/coverage.py", title="两个覆盖", icon=":material/groups:", url_path="coverage"),
        st.Page("pages/issues.py", title="问题解决", icon=":material/task_alt:", url_path="issues"),
        st.Page("pages/pairing.py", title="结对联建", icon=":material/handshake:", url_path="pairing"),
        st.Page("pages/grids.py", title="网格与小区", icon=":material/grid_view:", url_path="grids"),
        st.Page("pages/tasks.py", title="重点任务督办", icon=":material/assignment_late:",
                url_path="tasks"),
        st.Page("pages/presentation.py", title="推进会", icon=":material/slideshow:",
                url_path="presentation"),
    ]
    data = [st.Page("pages/upload.py", title="数据上传", icon=":material/upload_file:",
                    url_path="upload", visibility="visible" if can_upload else "hidden")]
    admin = [
        st.Page("pages/admin_settings.py", title="系统设置", icon=":material/settings:",
                url_path="settings", visibility="visible" if can_admin else "hidden"),
        st.Page("pages/admin_accounts.py", title="账户与权限", icon=":material/manage_accounts:",
                url_path="accounts", visibility="visible" if can_admin else "hidden"),
        st.Page("pages/admin_boundaries.py", title="地图边界", icon=":material/map:",
                url_path="boundaries", visibility="visible" if can_admin else "hidden"),
        st.Page("pages/admin_schedules.py", title="定时报告", icon=":material/schedule_send:",
                url_path="schedules", visibility="visible" if can_admin else "hidden"),
        st.Page("pages/admin_audit.py", title="操作日志", icon=":material/history:",
                url_path="audit", visibility="visible" if can_admin else "hidden"),
    ]
    sections = {"看板": board, "数据": data, "管理": admin}
    for name in ("数据", "管理"):
        if all(p.visibility == "hidden" for p in sections[name]):
            board += sections.pop(name)
    # A visitor's only section needs no header (and the sidebar's filters keep their place).
    return sections if len(sections) > 1 else {"": board}


# Before the first st.navigation of a process Streamlit lists the pages/ files by their English
# names; while the demo city is made (tens of seconds) a hidden navigation stands in.
state.first_run(lambda: st.navigation(page_list(None), position="hidden"))
ctx = state.context()
account = auth_gate.current_account(ctx)
# A required login: the pages are still registered (a link to any of them keeps its address and
# opens it after the login), but none runs and the navigation is not shown.
locked = account is None and auth_gate.login_required(ctx)
pages = page_list(account)
# Expanded: an admin's thirteen pages would otherwise fold behind an English "View 3 more".
nav = st.navigation(localize.with_not_found(pages), position="hidden" if locked else "sidebar",
                    expanded=True)
if locked:
    auth_gate.login_wall(ctx)  # stops the run
st.sidebar.markdown("### 网格治理看板")
view = state.sidebar(ctx)
auth_gate.account_box(account, ctx)
state.set_current(ctx, view)
nav.run()
# Last: an element drawn above the sidebar's widgets would shift them (a multiselect there then
# no longer opens its list).
localize.install("overview")
