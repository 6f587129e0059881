"""The admin pages (the 管理 section of the navigation): settings, accounts, map boundaries,
scheduled reports, the audit log — one page file each under pages/, drawn by ``page``.

Every function here re-checks the role itself: it is never enough that a caller hid a button.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from functools import partial

import pandas as pd
import streamlit as st

from metrics import schedule as SCH
from metrics.accounts import ROLE_LABELS, ROLES, Account, AuthError
from metrics.contract.schema import LEVEL_LABELS
from metrics.engine import ENGINES
from metrics.exports.build import MEDIA_TYPES
from metrics.exports.xlsx import safe_csv_text
from metrics.settings import (
    LABELS,
    REQUIRE_LOGIN_ENV,
    Settings,
    login_required_by_env,
    save_settings,
)
from metrics.store import upload as U
from metrics.store.versions import StoreBusy
from ui import auth_gate, cache
from ui.auth_gate import accounts
from ui.components import confirm_row
from ui.state import Ctx
from ui.state import current as current_frame

# (min, max, step) per setting; a value outside is refused before anything is saved.
BOUNDS = {
    "response_hours": (0.5, 720.0, 1.0),
    "w_response": (0.0, 1.0, 0.05),
    "w_resolve": (0.0, 1.0, 0.05),
    "w_satisfaction": (0.0, 1.0, 0.05),
    "ranking_n": (1, 50, 1),
    "ranking_chart_max_units": (6, 500, 2),
    "max_upload_mb": (1, 2048, 10),
    "lock_timeout_seconds": (1.0, 3600.0, 5.0),
    "login_max_failures": (1, 100, 1),
    "lockout_minutes": (0, 1440, 5),
    "session_hours": (0.25, 720.0, 1.0),
    "slide_advance_seconds": (0, 3600, 5),
    "light_yellow_points": (0.1, 100.0, 0.5),
    "light_yellow_months_to_red": (1, 24, 1),
    "lagging_months": (1, 24, 1),
    "rectification_days": (1, 365, 1),
    "smtp_port": (1, 65535, 1),
    "smtp_timeout_seconds": (1.0, 600.0, 5.0),
    "task_due_soon_days": (1, 90, 1),
}
EVENT_LABELS = {
    "publish": "发布数据", "rejected": "文件被拒(未发布)", "rollback": "回滚版本",
    "boundaries": "上传边界", "boundaries_restore": "恢复上一版边界", "settings": "修改设置",
    "account": "账户变更", "login": "登录", "login_failed": "登录失败", "logout": "退出登录",
    "clear_demo": "清除示例数据",
    "schedule": "定时报告",
}
ACTION_LABELS = {"add": "新建", "update": "修改", "remove": "删除", "unlock": "解除锁定",
                 "run": "立即运行"}
AUDIT_TAIL = 300
# The query engines as 系统设置 offers them (metrics.engine.ENGINES).
ENGINE_LABELS = {"duckdb": "内置引擎(DuckDB，本机)", "spark": "集群引擎(Spark)"}


def _bounds(name: str) -> tuple:
    """(min, max, step); the upload limit cannot exceed what the server itself accepts."""
    lo, hi, step = BOUNDS.get(name, (0, 10**6, 1))
    if name == "max_upload_mb":
        hi = min(hi, int(st.get_option("server.maxUploadSize")))
    return lo, hi, step


def _is_admin() -> bool:
    acct = st.session_state.get("account")
    return acct is not None and acct.can_admin()


def _deny() -> None:
    st.error("仅管理员可以使用此功能。")


def _scope_options(ctx: Ctx) -> tuple[list[str], dict[str, str]]:
    u = ctx.units[ctx.units["level"].isin(["district", "street"])]
    names = {}
    for code, name, level in zip(u["code"], u["name"], u["level"], strict=True):
        if level == "street":
            names[code] = f"{ctx.name(code[:6])} · {name}({code})"
        else:
            names[code] = f"{name}({code})"
    return ["", *u["code"].tolist()], names


def page(title: str, section) -> None:
    """An admin page: ``section(ctx, account)`` under ``title``. The page is listed only for
    admins (app.py) but stays routable, so a link says why it shows nothing: the login form while
    logged out, a refusal for any other role — before anything of the page is drawn."""
    ctx, _ = current_frame()
    # The account as stored now (a role taken away by an admin counts at once).
    account = auth_gate.current_account(ctx)
    if account is None:
        auth_gate.login_required_page(ctx, f"“{title}”仅限管理员使用，登录后继续。")
    if not account.can_admin():
        st.error(f"“{title}”仅限管理员使用，请用管理员账户登录。")
        st.stop()
    st.title(title)
    section(ctx, account)


# --- boundaries ---------------------------------------------------------------------------------


def boundaries_section(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        _deny()
        return
    # The format's own keywords as code: what the file must contain, word for word.
    st.caption("上传区县、街道边界(GeoJSON 要素集合 `FeatureCollection`，坐标为经纬度)。每个要素的 "
               "`properties.code` 须为已有的区县或街道代码，几何类型为 `Polygon` 或 `MultiPolygon`。"
               "保存时保留上一版，可随时恢复。")
    info = U.boundaries_info(ctx.store)
    if info is None:
        st.info("当前没有边界文件，地图不显示。")
    else:
        n = "无法读取" if info["features"] is None else f"{info['features']} 个要素"
        st.markdown(f"当前边界：{n}，更新于 {info['time']}。")
        if info["has_previous"]:
            st.button("恢复上一版边界", key="adm_bd_restore", on_click=_restore_boundaries,
                      args=(ctx, account))
    flash = st.session_state.pop("adm_bd_flash", None)
    if flash:
        (st.success if flash[0] == "ok" else st.error)(flash[1])
    n = st.session_state.get("adm_bd_n", 0)
    f = st.file_uploader("选择 GeoJSON 文件", type=["geojson", "json"], key=f"adm_bd_file_{n}",
                         max_upload_size=U.MAX_BOUNDARIES_MB)
    if f is None:
        return
    codes = U.boundary_codes(ctx.store)
    if not codes:
        st.error("还没有区划数据：请先上传“区划与网格”，再上传边界。")
        return
    fc, problems = U.parse_boundaries(f.getvalue(), codes)
    if problems:
        st.error(f"边界文件有 {len(problems)} 处问题，未保存：")
        st.dataframe(pd.DataFrame({"问题": problems}), hide_index=True)
        return
    summary = U.boundaries_summary(fc, ctx.units)
    d, s = summary["district"], summary["street"]
    st.success(f"校验通过：区县 {d['have']}/{d['total']} 个，街道 {s['have']}/{s['total']} 个。")
    missing = d["missing"] + s["missing"]
    if missing:
        names = "、".join(ctx.name(c) for c in missing[:15]) + ("等" if len(missing) > 15 else "")
        st.warning(f"以下 {len(missing)} 个单位没有边界，相应层级的地图将不显示：{U.md(names)}")
    st.button("保存边界", type="primary", key="adm_bd_save", on_click=_save_boundaries,
              args=(ctx, account, fc, f.name))


def _save_boundaries(ctx: Ctx, account: Account, fc: dict, file_name: str) -> None:
    if not _is_admin():
        return
    try:
        U.save_boundaries(ctx.store, ctx.settings, fc, user=account.name, file_name=file_name)
    except StoreBusy as e:
        st.session_state["adm_bd_flash"] = ("error", str(e))
        return
    cache.clear()
    st.session_state["adm_bd_n"] = st.session_state.get("adm_bd_n", 0) + 1
    st.session_state["adm_bd_flash"] = ("ok", f"已保存边界({len(fc['features'])} 个要素)，地图已更新。")


def _restore_boundaries(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        return
    try:
        ok = U.restore_previous_boundaries(ctx.store, ctx.settings, user=account.name)
    except StoreBusy as e:
        st.session_state["adm_bd_flash"] = ("error", str(e))
        return
    cache.clear()
    st.session_state["adm_bd_flash"] = ("ok", "已恢复上一版边界。") if ok else (
        "error", "没有上一版边界。")


# --- accounts ----------------------------------------------------------------------------------


def accounts_section(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        _deny()
        return
    store = accounts(ctx)
    try:
        listed = store.list()
    except AuthError as e:
        st.error(str(e))
        return
    _, scope_names = _scope_options(ctx)
    rows = []
    for a in listed:
        rows.append({"用户名": a.name, "角色": ROLE_LABELS.get(a.role, a.role),
                     "范围": scope_names.get(a.scope, a.scope) if a.scope else "全市",
                     "状态": "已锁定" if store.is_locked(a.name) else "正常"})
    flash = st.session_state.pop("adm_acct_flash", None)
    if flash:
        (st.success if flash[0] == "ok" else st.error)(flash[1])
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.info("还没有本地账户。")

    left, right = st.columns(2, gap="large")
    with left, st.form("adm_acct_form", clear_on_submit=False):
        st.markdown("**新建或修改账户**")
        st.text_input("用户名", key="adm_acct_name", help="已有的用户名则修改其角色、范围或密码")
        st.selectbox("角色", ROLES, format_func=lambda r: ROLE_LABELS[r], key="adm_acct_role",
                     index=0)
        opts, names = _scope_options(ctx)
        st.selectbox("范围", opts, format_func=lambda c: names.get(c, "全市(不限)") if c else "全市(不限)",
                     key="adm_acct_scope",
                     help="浏览者、数据分析员可限定在一个区县或街道，只能看到该单位及下属单位；管理员不限范围")
        st.text_input("密码", type="password", key="adm_acct_pw", autocomplete="new-password",
                      help="至少 8 个字符；修改已有账户时留空表示不改密码")
        st.text_input("确认密码", type="password", key="adm_acct_pw2", autocomplete="new-password")
        st.form_submit_button("保存账户", type="primary", on_click=_save_account,
                              args=(ctx, account))
    with right:
        st.markdown("**解锁或删除账户**")
        names_list = [a.name for a in listed]
        if not names_list:
            return
        target = st.selectbox("账户", names_list, key="adm_acct_target")
        row = st.container(horizontal=True)
        row.button("解除锁定", key="adm_acct_unlock", on_click=_unlock, args=(ctx, account, target),
                   disabled=not store.is_locked(target))
        pending = st.session_state.get("adm_acct_rm")
        if pending != target:
            row.button("删除账户", key="adm_acct_remove",
                      on_click=lambda t=target: st.session_state.__setitem__("adm_acct_rm", t),
                      disabled=target == account.name,
                      help="不能删除当前登录的账户" if target == account.name else None)
        else:
            confirm_row(f"确认删除账户“{U.md(target)}”？删除后该账户无法登录。",
                        ok_label="确认删除", ok_key="adm_acct_rm_ok", on_ok=_remove,
                        args=(ctx, account, target), cancel_key="adm_acct_rm_cancel",
                        on_cancel=lambda: st.session_state.pop("adm_acct_rm", None))


def _save_account(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        return
    ss = st.session_state
    name = (ss.get("adm_acct_name") or "").strip()
    role = ss.get("adm_acct_role") or "viewer"
    scope = ss.get("adm_acct_scope") or None
    pw, pw2 = ss.get("adm_acct_pw") or "", ss.get("adm_acct_pw2") or ""
    ss["adm_acct_pw"] = ss["adm_acct_pw2"] = ""
    if not name:
        ss["adm_acct_flash"] = ("error", "请填写用户名")
        return
    if pw != pw2:
        ss["adm_acct_flash"] = ("error", "两次输入的密码不一致")
        return
    store = accounts(ctx)
    try:
        existed = store.get(name) is not None
        if name == account.name and role != "admin":
            raise AuthError("不能降低当前登录管理员自己的角色")
        acct = store.add_or_update(name, role, pw or None, scope=scope)
    except AuthError as e:
        ss["adm_acct_flash"] = ("error", str(e))
        return
    _audit(ctx, {"event": "account", "action": "update" if existed else "add", "user": account.name,
                 "target": acct.name, "role": acct.role, "scope": acct.scope,
                 "password_changed": bool(pw)})
    what = "已修改" if existed else "已新建"
    ss["adm_acct_flash"] = ("ok", f"{what}账户 {U.md(acct.name)}({ROLE_LABELS[acct.role]}"
                                  f"{'，范围 ' + acct.scope if acct.scope else ''})")


def _unlock(ctx: Ctx, account: Account, target: str) -> None:
    if not _is_admin():
        return
    try:
        accounts(ctx).unlock(target)
    except AuthError as e:
        st.session_state["adm_acct_flash"] = ("error", str(e))
        return
    _audit(ctx, {"event": "account", "action": "unlock", "user": account.name, "target": target})
    st.session_state["adm_acct_flash"] = ("ok", f"已解除 {U.md(target)} 的锁定")


def _remove(ctx: Ctx, account: Account, target: str) -> None:
    st.session_state.pop("adm_acct_rm", None)
    if not _is_admin():
        return
    if target == account.name:
        st.session_state["adm_acct_flash"] = ("error", "不能删除当前登录的账户")
        return
    try:
        accounts(ctx).remove(target)
    except AuthError as e:
        st.session_state["adm_acct_flash"] = ("error", str(e))
        return
    auth_gate.sessions(ctx).end_user(target)  # its open logins stop at once, not at expiry
    _audit(ctx, {"event": "account", "action": "remove", "user": account.name, "target": target})
    st.session_state["adm_acct_flash"] = ("ok", f"已删除账户 {U.md(target)}")


# --- settings ----------------------------------------------------------------------------------


def demo_section(ctx: Ctx, account: Account) -> None:
    """Going live: clear the demo city (Store.clear_demo), after a confirmation."""
    if not _is_admin():
        return
    flash = st.session_state.pop("adm_demo_flash", None)
    if flash:
        (st.success if flash[0] == "ok" else st.error)(flash[1])
    tables = ctx.store.demo_tables()
    if not tables:
        return
    with st.container(border=True, key="adm_demo_box"):
        st.markdown("**示例数据**")
        names = "、".join(U.table_label(t) for t in tables)
        st.caption(f"以下 {len(tables)} 张表当前仍是示例数据(虚构的示例市)：{names}。"
                   "正式使用前请清除；已上传的真实数据不受影响。")
        if not st.session_state.get("adm_demo_confirm"):
            st.button("清除示例数据…", key="adm_demo_clear", icon=":material/delete_sweep:",
                      on_click=lambda: st.session_state.__setitem__("adm_demo_confirm", True))
            return
        confirm_row(f"确认清除示例数据？{names} 将变为空表(可随后上传真实数据)，示例地图边界一并撤下。"
                    "示例数据的各个版本仍保留在版本历史中，可随时回滚恢复；此操作记入操作日志。",
                    ok_label="确认清除", ok_key="adm_demo_ok", on_ok=_clear_demo, args=(ctx,),
                    cancel_key="adm_demo_cancel",
                    on_cancel=lambda: st.session_state.pop("adm_demo_confirm", None))


def _clear_demo(ctx: Ctx) -> None:
    st.session_state.pop("adm_demo_confirm", None)
    acct = st.session_state.get("account")
    if acct is None or not acct.can_admin():
        st.session_state["adm_demo_flash"] = ("error", "仅管理员可以清除示例数据。")
        return
    try:
        cleared = ctx.store.clear_demo(user=acct.name,
                                       lock_timeout_seconds=ctx.settings.lock_timeout_seconds)
    except StoreBusy as e:
        st.session_state["adm_demo_flash"] = ("error", f"暂时无法清除：{e}")
        return
    cache.clear()
    st.session_state["adm_demo_flash"] = (
        "ok", f"已清除示例数据({len(cleared)} 张表)。请在“数据上传”页上传本地的区划与各类台账；"
              "如需恢复，可在“数据上传 › 版本历史”中回滚。")


def settings_section(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        _deny()
        return
    demo_section(ctx, account)
    st.caption("设置保存在数据目录的 `settings.json` 中，对所有用户立即生效。")
    flash = st.session_state.pop("adm_set_flash", None)
    if flash:
        (st.success if flash[0] == "ok" else st.error)(flash[1])
    current = ctx.settings
    with st.form("adm_settings"):
        cols = st.columns(2)
        for i, f in enumerate(dataclasses.fields(Settings)):
            value = getattr(current, f.name)
            label = LABELS.get(f.name, f.name)
            # The key carries the saved value, so the form shows what is stored after a save.
            key = f"adm_set_{f.name}_{value!r}"
            with cols[i % 2]:
                if f.name == "viewers_must_login" and login_required_by_env():
                    # The deployment demands it (GRIDBOARD_REQUIRE_LOGIN): not switchable here.
                    st.checkbox(label, value=True, key=key, disabled=True,
                                help=f"已由服务器环境变量 {REQUIRE_LOGIN_ENV}=1 强制开启")
                elif isinstance(value, bool):
                    st.checkbox(label, value=value, key=key,
                                help="开启后，未登录的访客只能看到登录页" if f.name == "viewers_must_login" else None)
                elif f.name == "engine":
                    st.selectbox(label, ENGINES, index=ENGINES.index(value) if value in ENGINES else 0,
                                 format_func=ENGINE_LABELS.get, key=key)
                elif isinstance(value, str):
                    st.text_input(label, value=value, key=key)
                elif isinstance(value, int):
                    lo, hi, step = _bounds(f.name)
                    help_ = (f"服务器上限为 {hi} MB(.streamlit/config.toml 的 server.maxUploadSize)"
                             if f.name == "max_upload_mb" else None)
                    st.number_input(label, min_value=int(lo), max_value=int(hi), step=int(step),
                                    value=min(int(value), int(hi)), key=key, help=help_)
                else:
                    lo, hi, step = BOUNDS.get(f.name, (0.0, 1e6, 0.1))
                    st.number_input(label, min_value=float(lo), max_value=float(hi),
                                    step=float(step), value=float(value), key=key, format="%g")
        st.form_submit_button("保存设置", type="primary", on_click=_save_settings,
                              args=(ctx, account))
    s = current
    st.caption(f"综合得分 = 100 ×({s.w_response:g}×响应率 + {s.w_resolve:g}×解决率 + "
               f"{s.w_satisfaction:g}×满意率)，三项权重之和须为 1。")


def _save_settings(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        return
    current = ctx.settings
    values = {}
    for f in dataclasses.fields(Settings):
        old = getattr(current, f.name)
        v = st.session_state.get(f"adm_set_{f.name}_{old!r}", old)
        if f.name == "viewers_must_login" and login_required_by_env():
            v = old  # the disabled box shows the environment's value, not the file's
        if isinstance(old, bool):
            v = bool(v)
        elif isinstance(old, str):
            v = str(v).strip()
        elif isinstance(old, int):
            v = int(v)
        else:
            v = float(v)
        if f.name in BOUNDS and not isinstance(old, bool):
            lo, hi, _ = _bounds(f.name)
            if not (lo <= v <= hi) or (isinstance(v, float) and not math.isfinite(v)):
                st.session_state["adm_set_flash"] = ("error", f"{LABELS[f.name]} 应在 {lo:g}–{hi:g} 之间")
                return
        values[f.name] = v
    values["engine"] = values["engine"].lower()
    if values["engine"] not in ENGINES:
        st.session_state["adm_set_flash"] = (
            "error", f"{LABELS['engine']} 应为 {' 或 '.join(ENGINES)}，未保存")
        return
    total = values["w_response"] + values["w_resolve"] + values["w_satisfaction"]
    if abs(total - 1.0) > 1e-6:
        st.session_state["adm_set_flash"] = (
            "error", f"综合得分三项权重之和应为 1，现为 {total:g}，未保存")
        return
    new = Settings(**values)
    changed = {k: [getattr(current, k), v] for k, v in values.items() if getattr(current, k) != v}
    if not changed:
        st.session_state["adm_set_flash"] = ("ok", "设置没有变化")
        return
    save_settings(ctx.data_dir, new)
    _audit(ctx, {"event": "settings", "user": account.name, "changed": changed})
    cache.clear()
    labels = "、".join(LABELS.get(k, k) for k in changed)
    st.session_state["adm_set_flash"] = ("ok", f"已保存：{labels}")


# --- scheduled reports ---------------------------------------------------------------------------

SCH_NEW = ""  # the picker's "新建计划" entry
STATUS_LABELS = {"written": "已生成", "mailed": "已生成并发送", "skipped": "本期已生成，跳过",
                 "failed": "失败"}
_SPLIT = re.compile(r"[\s,，;；、]+")


def schedules_frame(schedules: list[SCH.Schedule], name) -> pd.DataFrame:
    """The list of schedules as the page shows it (``name``: unit code → name)."""
    rows = [{"编号": s.id, "名称": s.name, "频率": SCH.FREQUENCIES[s.frequency],
             "单位": name(s.unit), "排名层级": LEVEL_LABELS.get(s.level, s.level),
             "文件": "、".join(SCH.FORMAT_LABELS[f] for f in s.formats),
             "收件人": "、".join(s.recipients) or "—", "状态": "启用" if s.enabled else "停用"}
            for s in schedules]
    return pd.DataFrame(rows, columns=["编号", "名称", "频率", "单位", "排名层级", "文件", "收件人",
                                       "状态"])


def _load_schedules(ctx: Ctx) -> tuple[list[SCH.Schedule], str | None]:
    try:
        return SCH.load_schedules(ctx.data_dir), None
    except (SCH.ScheduleError, ValueError) as e:  # a hand-edited file that no longer parses
        return [], f"{SCH.SCHEDULES_FILE} 无法读取：{e}"


def schedules_section(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        _deny()
        return
    st.caption("到期的计划把周报/月报(推进会 PPT、通报表、PDF、督办通知)写入数据目录的发件箱文件夹 `outbox`，"
               "设置了邮件中继时再发给收件人；每个计划每期只生成一次，失败的下次重试。"
               "服务器上用系统的定时任务执行 `python -m metrics schedule run`(见部署说明 `README.md`)，"
               "也可在这里立即运行。")
    flash = st.session_state.pop("adm_sch_flash", None)
    if flash:
        (st.success if flash[0] == "ok" else st.error)(flash[1])
    results = st.session_state.pop("adm_sch_results", None)
    if results:
        st.markdown("**本次运行结果**")
        st.dataframe(pd.DataFrame(results), hide_index=True)
    schedules, problem = _load_schedules(ctx)
    if problem:
        st.error(problem)
        return
    if schedules:
        st.markdown("**计划列表**")
        st.dataframe(schedules_frame(schedules, ctx.name), hide_index=True)
    else:
        st.info("还没有定时报告计划。")
    st.button("立即运行到期计划", key="adm_sch_run", on_click=_run_schedules, args=(ctx, account),
              disabled=not any(s.enabled for s in schedules),
              help="生成本期还没有生成的报告；本期已生成的计划跳过")

    by_id = {s.id: s for s in schedules}
    st.selectbox("选择计划", [SCH_NEW, *by_id], key="adm_sch_pick", on_change=_pick_schedule,
                 args=(ctx,), format_func=lambda i: f"{i}　{by_id[i].name}" if i else "新建计划")
    if "adm_sch_id" not in st.session_state:
        _fill_form(None)
    opts, names = _scope_options(ctx)
    with st.form("adm_sch_form"):
        c1, c2 = st.columns(2)
        c1.text_input("编号", key="adm_sch_id", help="字母、数字、- 和 _，用作发件箱里的文件夹名；"
                      "与已有计划相同则修改该计划")
        c2.text_input("名称", key="adm_sch_name", help="如：全市月报；也用作文件名的开头")
        c1.selectbox("频率", list(SCH.FREQUENCIES), key="adm_sch_frequency",
                     format_func=SCH.FREQUENCIES.get,
                     help="月报：上一个完整月份；周报：最新月份截至运行时，按自然周生成一次")
        c2.selectbox("单位", opts, key="adm_sch_unit",
                     format_func=lambda c: names.get(c, "全市") if c else "全市")
        c1.selectbox("排名层级", [lv for lv in LEVEL_LABELS if lv != "city"], key="adm_sch_level",
                     format_func=LEVEL_LABELS.get, help="通报表和督办通知排名、督办的单位层级")
        c2.multiselect("文件", list(SCH.FORMATS), key="adm_sch_formats",
                       format_func=SCH.FORMAT_LABELS.get)
        st.text_area("收件人", key="adm_sch_recipients", height=80,
                     help="邮件地址，用逗号或换行分隔；留空则只写入发件箱(发送须在系统设置中填写邮件中继)")
        st.checkbox("启用", key="adm_sch_enabled")
        st.form_submit_button("保存计划", type="primary", on_click=_save_schedule,
                              args=(ctx, account))
    pick = st.session_state.get("adm_sch_pick") or SCH_NEW
    if pick in by_id:
        if st.session_state.get("adm_sch_rm") != pick:
            st.button("删除此计划", key="adm_sch_remove",
                      on_click=lambda p=pick: st.session_state.__setitem__("adm_sch_rm", p))
        else:
            confirm_row(f"确认删除计划“{U.md(pick)}”？已生成的文件保留在发件箱中。",
                        ok_label="确认删除", ok_key="adm_sch_rm_ok", on_ok=_remove_schedule,
                        args=(ctx, account, pick), cancel_key="adm_sch_rm_cancel",
                        on_cancel=lambda: st.session_state.pop("adm_sch_rm", None))
    log = SCH.recent_log(ctx.data_dir, limit=20)
    if log:
        with st.expander("最近运行记录"):
            st.dataframe(pd.DataFrame([{
                "时间": str(e.get("time", "")).replace("T", " "), "计划": e.get("schedule", ""),
                "期": e.get("period", ""), "结果": STATUS_LABELS.get(e.get("status"), e.get("status")),
                "说明": e.get("message") or "、".join(e.get("files", []))} for e in log]),
                hide_index=True)


def _fill_form(s: SCH.Schedule | None) -> None:
    """Put a schedule (None: a new one's defaults) into the form's widgets."""
    ss = st.session_state
    ss["adm_sch_id"] = s.id if s else ""
    ss["adm_sch_name"] = s.name if s else ""
    ss["adm_sch_frequency"] = s.frequency if s else "monthly"
    ss["adm_sch_unit"] = (s.unit or "") if s else ""
    ss["adm_sch_level"] = s.level if s else "district"
    ss["adm_sch_formats"] = list(s.formats) if s else ["pptx", "xlsx", "pdf"]
    ss["adm_sch_recipients"] = "\n".join(s.recipients) if s else ""
    ss["adm_sch_enabled"] = s.enabled if s else True


def _pick_schedule(ctx: Ctx) -> None:
    pick = st.session_state.get("adm_sch_pick")
    schedules, _ = _load_schedules(ctx)
    _fill_form(next((s for s in schedules if s.id == pick), None))
    st.session_state.pop("adm_sch_rm", None)


def _save_schedule(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        return
    ss = st.session_state
    recipients = tuple(x for x in _SPLIT.split(ss.get("adm_sch_recipients") or "") if x)
    try:
        new = SCH.Schedule(
            id=(ss.get("adm_sch_id") or "").strip(), name=(ss.get("adm_sch_name") or "").strip(),
            frequency=ss.get("adm_sch_frequency") or "monthly",
            formats=tuple(ss.get("adm_sch_formats") or ()),
            level=ss.get("adm_sch_level") or "district", unit=ss.get("adm_sch_unit") or None,
            recipients=recipients, enabled=bool(ss.get("adm_sch_enabled", True)))
        schedules, problem = _load_schedules(ctx)
        if problem:
            raise SCH.ScheduleError(problem)
        existed = any(s.id == new.id for s in schedules)
        kept = [new if s.id == new.id else s for s in schedules]
        SCH.save_schedules(ctx.data_dir, kept if existed else [*schedules, new])
    except (SCH.ScheduleError, ValueError) as e:
        ss["adm_sch_flash"] = ("error", f"未保存：{e}")
        return
    _audit(ctx, {"event": "schedule", "action": "update" if existed else "add",
                 "user": account.name, "target": new.id})
    ss["adm_sch_flash"] = ("ok", f"{'已修改' if existed else '已新建'}计划 {U.md(new.id)}"
                                 f"({U.md(new.name)}，{SCH.FREQUENCIES[new.frequency]})")
    ss["adm_sch_pick"] = new.id


def _remove_schedule(ctx: Ctx, account: Account, target: str) -> None:
    st.session_state.pop("adm_sch_rm", None)
    if not _is_admin():
        return
    schedules, problem = _load_schedules(ctx)
    kept = [s for s in schedules if s.id != target]
    if problem or len(kept) == len(schedules):
        st.session_state["adm_sch_flash"] = ("error", problem or f"没有这个计划：{target}")
        return
    SCH.save_schedules(ctx.data_dir, kept)
    _audit(ctx, {"event": "schedule", "action": "remove", "user": account.name, "target": target})
    st.session_state["adm_sch_flash"] = ("ok", f"已删除计划 {U.md(target)}")
    st.session_state["adm_sch_pick"] = SCH_NEW
    _fill_form(None)


def _run_schedules(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        return
    try:
        with st.spinner("正在生成报告…"):
            results = SCH.run(ctx.store, ctx.settings)
    except (SCH.ScheduleError, ValueError) as e:
        st.session_state["adm_sch_flash"] = ("error", str(e))
        return
    rows = [{"计划": r.schedule, "期": r.period, "结果": STATUS_LABELS.get(r.status, r.status),
             "文件": "、".join(r.files), "说明": r.message} for r in results]
    _audit(ctx, {"event": "schedule", "action": "run", "user": account.name,
                 "results": [f"{r.schedule} {r.period} {STATUS_LABELS.get(r.status, r.status)}"
                             for r in results]})
    failed = [r for r in results if r.status == "failed"]
    st.session_state["adm_sch_results"] = rows
    st.session_state["adm_sch_flash"] = (
        ("error", f"{len(failed)} 个计划失败，已记录，下次运行时重试") if failed else
        ("ok", f"已运行 {len(results)} 个计划"))


# --- audit log ---------------------------------------------------------------------------------


def audit_frame(lines: list[dict], tail: int | None = AUDIT_TAIL) -> pd.DataFrame:
    rows = []
    skip = {"time", "event", "user", "table"}
    for e in reversed(lines[-tail:] if tail else lines):
        detail = {k: v for k, v in e.items() if k not in skip}
        rows.append({
            "时间": str(e.get("time", "")).replace("T", " "),
            "操作": EVENT_LABELS.get(e.get("event"), e.get("event")),
            "用户": e.get("user", ""),
            "表": U.table_label(e["table"]) if e.get("table") in U.TABLE_NAMES else e.get("table", ""),
            "详情": _detail_text(e.get("event"), detail),
        })
    return pd.DataFrame(rows, columns=["时间", "操作", "用户", "表", "详情"])


def _detail_text(event: str | None, d: dict) -> str:
    if event == "publish":
        return (f"{d.get('version')} 文件 {d.get('file_name')}：共 {d.get('rows')} 行，"
                f"新增 {d.get('inserted')}、更新 {d.get('updated')}")
    if event == "rejected":
        return f"文件 {d.get('file_name')}：{d.get('errors')} 处错误"
    if event == "rollback":
        return f"{d.get('from')} → {d.get('to')}"
    if event == "account":
        action = ACTION_LABELS.get(d.get("action"), d.get("action"))
        extra = ""
        if d.get("role"):
            extra = f"，角色 {ROLE_LABELS.get(d['role'], d['role'])}"
            extra += f"，范围 {d['scope']}" if d.get("scope") else ""
        return f"{action} {d.get('target')}{extra}"
    if event == "login":
        role = ROLE_LABELS.get(d.get("role"), d.get("role") or "")
        return f"角色 {role}" + (f"，范围 {d['scope']}" if d.get("scope") else "")
    if event == "login_failed":
        return str(d.get("reason", ""))
    if event == "logout":
        return ""
    if event == "boundaries":
        return f"文件 {d.get('file_name')}：{d.get('features')} 个要素"
    if event == "clear_demo":
        return "；".join(f"{U.table_label(t)} {v}" for t, v in (d.get("tables") or {}).items()
                        if t in U.TABLE_NAMES)
    if event == "settings":
        return "；".join(f"{LABELS.get(k, k)}：{a} → {b}" for k, (a, b) in d.get("changed", {}).items())
    if event == "schedule":
        action = ACTION_LABELS.get(d.get("action"), d.get("action"))
        if d.get("action") == "run":
            return f"{action}：" + "；".join(d.get("results", [])) if d.get("results") else action
        return f"{action}计划 {d.get('target')}"
    return json.dumps(d, ensure_ascii=False) if d else ""


def audit_section(ctx: Ctx, account: Account) -> None:
    if not _is_admin():
        _deny()
        return
    lines = ctx.store.audit_lines()
    if not lines:
        st.info("还没有任何记录。")
        return
    df = audit_frame(lines)
    st.caption(f"共 {len(lines):,} 条记录，下面是最近 {len(df):,} 条(最新在前)。")
    st.dataframe(df, hide_index=True, height=min(600, 35 * (len(df) + 1) + 3),
                 column_config={"详情": st.column_config.TextColumn("详情", width="large")})
    st.download_button("下载日志 CSV", partial(_audit_csv, lines),
                       file_name="操作日志.csv", mime=MEDIA_TYPES["csv"], key="adm_audit_csv",
                       on_click="ignore")


def _audit_csv(lines: list[dict]) -> bytes:
    return safe_csv_text(audit_frame(lines, tail=None))


def _audit(ctx: Ctx, event: dict) -> None:
    ctx.store.audit(event)
