"""数据上传: analysts and admins check, publish and roll back extracts, and download the
templates. (What only admins do — settings, accounts, boundaries, schedules, the audit log — are
the pages of the 管理 section, ui/admin.py.)

The page is only listed in the navigation for analysts and admins (app.py), and checks the role
again itself; opened while logged out it shows 请先登录 with the login form. A file is read and
validated as soon as it is dropped; nothing reaches the store until the analyst has seen what
will change and confirmed. A rejected file changes nothing.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from metrics.contract import schema as S
from metrics.contract.templates import template_filename, template_xlsx
from metrics.exports.build import MEDIA_TYPES
from metrics.store import upload as U
from metrics.store.ingest import Rejected
from metrics.store.versions import NoSuchVersion, StoreBusy
from ui import auth_gate, cache, warm
from ui.components import confirm_row
from ui.state import current

SECTIONS = ["上传数据", "版本历史", "模板下载"]

ctx, view = current()
# The account as stored now (a role taken away by an admin counts at once), not as remembered.
account = auth_gate.current_account(ctx)
if account is None:
    # Opened by a link or a bookmark while logged out: the login form, then this page.
    auth_gate.login_required_page(ctx, "数据上传仅限数据分析员和管理员使用，登录后继续。")
if not account.can_upload():
    # Not in the navigation for these users; a page reached some other way still stops here,
    # before it shows anything of the upload tools.
    st.error("数据上传仅限数据分析员和管理员使用，请用有上传权限的账户登录。")
    st.stop()
st.title("数据上传")


def _table_text(name: str) -> str:
    return S.TABLES[name].label  # the English table name is for the command line only


# --- flash messages, rollback ----------------------------------------------------------------


def _flash() -> None:
    flash = st.session_state.get("up_flash")
    if not flash:
        return
    box = {"ok": st.success, "warning": st.warning, "error": st.error}[flash.get("kind", "ok")]
    box(flash["text"])
    with st.container(horizontal=True, vertical_alignment="center"):
        if flash.get("kind") == "ok":
            st.page_link("pages/overview.py", label="查看总览", icon=":material/dashboard:")
        st.button("知道了", key="up_flash_close", type="tertiary",
                  on_click=lambda: st.session_state.pop("up_flash", None))
    undo = flash.get("undo")
    if undo and not account.scope:
        _rollback_controls(undo[0], undo[1], label=f"撤销本次发布(回到 {undo[1]})",
                           where="undo")


def _set_rb(table: str, version: str) -> None:
    st.session_state["up_rb"] = (table, version)


def _cancel_rb() -> None:
    st.session_state.pop("up_rb", None)


def _do_rollback(table: str, version: str) -> None:
    st.session_state.pop("up_rb", None)
    acct = st.session_state.get("account")
    if acct is None or not acct.can_upload() or acct.scope:
        st.session_state["up_flash"] = {"kind": "error", "text": "您的账户不能回滚数据。"}
        return
    try:
        before = ctx.store.current(table)
        U.rollback(ctx.store, ctx.settings, table, version, user=acct.name)
    except (StoreBusy, NoSuchVersion) as e:
        st.session_state["up_flash"] = {"kind": "error", "text": f"回滚未完成：{e}"}
        return
    cache.clear()
    warm.start(ctx.data_dir)
    st.session_state.pop("up_result", None)
    was = before["version"] if before else "—"
    st.session_state["up_flash"] = {
        "kind": "ok",
        "text": f"已将“{S.TABLES[table].label}”从 {was} 回滚到 {version}，各页面已显示该版本的数据。",
    }


def _rollback_controls(table: str, version: str, *, label: str, where: str) -> None:
    """Two clicks: 回滚 → 确认回滚."""
    if account.scope:
        return
    if st.session_state.get("up_rb") != (table, version):
        st.button(label, key=f"up_rb_{where}_{table}_{version}", on_click=_set_rb,
                  args=(table, version), icon=":material/undo:")
        return
    cur = ctx.store.current(table)
    confirm_row(f"确认将“{S.TABLES[table].label}”恢复为 {version}？当前版本 "
                f"{cur['version'] if cur else '—'} 仍会保留，可随时再切换回来；此操作记入操作日志。",
                ok_label="确认回滚", ok_key=f"up_rb_ok_{where}", on_ok=_do_rollback,
                args=(table, version), cancel_key=f"up_rb_cancel_{where}", on_cancel=_cancel_rb)


# --- 上传数据 ------------------------------------------------------------------------------------


def _check(file, content: bytes, table: str, replace: bool) -> U.CheckResult:
    """The check of this file against the current store, once per file (not on every rerun)."""
    if st.session_state.get("up_last_file") != file.file_id:
        st.session_state["up_last_file"] = file.file_id
        st.session_state.pop("up_flash", None)  # a new file: the last publish's message is done
    key = (file.file_id, table, replace, ctx.signature, account.scope)
    cached = st.session_state.get("up_result")
    if cached is not None and cached[0] == key:
        return cached[1]
    with st.spinner("正在读取并校验文件…"):
        res = U.check_upload(ctx.store, table, file.name, content, replace=replace,
                             scope=account.scope)
    audited = st.session_state.setdefault("up_audited", set())
    if res.status != "ok" and (file.file_id, table) not in audited:
        U.audit_rejection(ctx.store, res, account.name)
        audited.add((file.file_id, table))
    st.session_state["up_result"] = (key, res)
    return res


def _close_confirm() -> None:
    st.session_state.pop("up_confirm", None)


def _change_lines(res: U.CheckResult) -> list[str]:
    ch = res.changes or {}
    mode = ch.get("mode")
    how = {
        "replace": "替换整表：该表现有数据全部替换为本文件的内容",
        "replace_periods": "按月份替换：文件中出现的月份，原有数据整体替换为本文件的数据，其他月份不变",
        "upsert": "按主键更新：编号已存在的记录被更新，其余新增，文件中没有的记录保持不变",
    }.get(mode, mode or "")
    lines = [f"发布方式：{how}",
             f"文件 {ch.get('rows_in_file', 0):,} 行 → 新增 **{ch.get('inserted', 0):,}** 行 · "
             f"更新 **{ch.get('updated', 0):,}** 行 · 删除 **{ch.get('removed', 0):,}** 行 · "
             f"发布后共 **{ch.get('rows_after', 0):,}** 行"]
    if ch.get("periods"):
        periods = ch["periods"]
        shown = "、".join(periods[:24]) + (f" 等 {len(periods)} 个月" if len(periods) > 24 else "")
        lines.append(f"涉及月份：{shown}")
    return lines


@st.dialog("确认发布", width="medium", on_dismiss=_close_confirm)
def _confirm_dialog(res: U.CheckResult, content: bytes) -> None:
    st.markdown(f"将把文件 **{U.md(res.safe_name)}** 发布为“{S.TABLES[res.table].label}”的新版本：")
    for line in _change_lines(res):
        st.markdown(f"- {line}")
    if res.replace:
        st.warning("已选择“替换整表”：本文件中没有的记录将全部删除。")
    if res.warnings:
        st.caption(f"含 {len(res.warnings):,} 条已核对的提示。")
    st.caption("发布后原版本仍保留，可在“版本历史”中一键回滚。")
    c1, c2 = st.columns(2)
    go = c1.button("确认发布", type="primary", key="up_confirm_go", width="stretch")
    c2.button("取消", key="up_confirm_cancel", on_click=_close_confirm, width="stretch")
    if not go:
        return
    acct = st.session_state.get("account")
    if acct is None or not acct.can_upload():
        st.error("您的账户没有上传权限。")
        return
    prev = dict(res.signature).get(res.table)
    try:
        with st.spinner("正在发布，请稍候…"):
            meta = U.publish_upload(ctx.store, ctx.settings, res.table, res.file_name, content,
                                    replace=res.replace, user=acct.name, scope=acct.scope,
                                    expected_signature=res.signature)
    except StoreBusy as e:
        st.error(f"暂时无法发布：{e}")
        return
    except U.OutOfScope as e:
        st.error(U.md(e))
        return
    except (U.StaleCheck, Rejected) as e:
        text = str(e) if isinstance(e, U.StaleCheck) else (
            f"发布前重新校验时发现 {len(e.errors):,} 处错误(参照的区划或结对数据可能刚被更新)，"
            "未发布，已有数据没有任何改动。请查看下方的校验结果。")
        st.session_state["up_flash"] = {"kind": "warning", "text": text}
        st.session_state.pop("up_result", None)
        _close_confirm()
        st.rerun()
    except Exception:
        U.log.exception("publishing %r as %s failed", res.safe_name, res.table)
        st.error("发布时程序出错(已记入服务器日志)，已有数据没有改动。请稍后重试或联系管理员。")
        return
    cache.clear()
    warm.start(ctx.data_dir)
    _close_confirm()
    st.session_state.pop("up_result", None)
    st.session_state["up_file_n"] = st.session_state.get("up_file_n", 0) + 1  # empty the uploader
    st.session_state["up_flash"] = {
        "kind": "ok",
        "text": (f"已发布“{S.TABLES[res.table].label}”新版本 {meta['version']}：新增 "
                 f"{meta['inserted']:,} 行，更新 {meta['updated']:,} 行，删除 "
                 f"{meta.get('removed', 0):,} 行，现共 {meta['rows']:,} 行。各页面已显示新数据。"),
        "undo": (res.table, prev) if prev else None,
    }
    st.rerun()


def _rows_height(n: int) -> int:
    """A dataframe height that shows ``n`` rows without a scrollbar."""
    return 35 * (n + 1) + 3


def _show_problems(res: U.CheckResult, problems: list, *, key: str) -> None:
    # The reason is what the analyst acts on: a wide column, and rows tall enough to wrap it
    # (Streamlit wraps cell text only in rows taller than 4rem).
    reason = st.column_config.TextColumn("原因", width=U.REASON_WIDTH_PX)
    counts = U.reason_counts(problems)
    row_height = U.problems_row_height(problems)
    st.markdown("**按原因统计**")
    # Every reason in view: the counts are few, and a tall row would otherwise push some of
    # them below the table's default height.
    st.dataframe(counts, hide_index=True, key=f"{key}_reasons", row_height=row_height,
                 height=min(600, (row_height or 35) * len(counts) + 38),
                 column_config={"原因": reason})
    st.markdown(f"**明细**({U.header_row_text(res)})")
    if len(problems) > U.ERRORS_SHOWN:
        st.caption(f"共 {len(problems):,} 处，此处列出前 {U.ERRORS_SHOWN:,} 处，完整清单见下载的报告。")
    st.dataframe(U.problems_frame(problems, U.ERRORS_SHOWN), hide_index=True,
                 key=f"{key}_detail", row_height=row_height,
                 column_config={"行号": st.column_config.NumberColumn("行号", format="%d"),
                                "原因": reason})


def _show_result(res: U.CheckResult, content: bytes, file_key: str) -> None:
    fmt = {"csv": "CSV", "xlsx": "Excel(XLSX)", "parquet": "Parquet"}.get(res.fmt, res.fmt or "—")
    st.subheader("文件识别")
    parts = [f"文件：{U.md(res.file_name)}({U.size_text(res.size)})"]
    if res.status != "unreadable":
        parts.append(f"格式：{fmt}")
        if res.fmt == "csv":
            parts.append(f"编码：{res.encoding or '—'}")
        if res.sheet:
            parts.append(f"工作表：{U.md(res.sheet)}")
        if res.header_row:
            parts.append(f"表头：第 {res.header_row} 行")
        parts.append(f"数据行：{res.rows:,}")
    st.markdown(" · ".join(parts))
    if res.status == "unreadable":
        st.error(f"无法读取此文件：{U.md(res.message)}。文件未发布，已有数据没有任何改动。")
        return

    mapping = U.mapping_frame(res)
    found = int((mapping["状态"] == "已识别").sum())
    missing = int((mapping["状态"] == "缺少(必填)").sum())
    title = f"表头对应：{len(mapping)} 个字段中 {found} 个在文件中找到"
    if missing:
        title += f"，缺少 {missing} 个必填字段"
    with st.expander(title, expanded=bool(missing or res.ignored)):
        st.caption("文件中的哪一列对应哪个字段；未提供的可选字段按默认值或留空。")
        st.dataframe(mapping, hide_index=True, key="up_mapping",
                     height=_rows_height(len(mapping)))
    if res.ignored:
        st.info("以下列不属于本表，已忽略：" + "、".join(f"“{U.md(h)}”" for h in res.ignored))
    if res.dropped_pii:
        st.warning("以下列含居民个人信息，已删除，不会保存：" +
                   "、".join(f"“{U.md(h)}”" for h in res.dropped_pii))

    st.subheader("数据预览")
    if res.preview is None:
        st.caption("无法预览。")
    else:
        if res.status == "ok":
            st.caption(f"前 {len(res.preview)} 行，按保存后的格式显示(共 {res.rows:,} 行)。")
        else:
            st.caption(f"前 {len(res.preview)} 行，按文件原样显示(文件有错误，尚未转换)。")
        st.dataframe(res.preview, hide_index=True, key="up_preview")

    st.subheader("校验结果")
    if res.status == "rejected":
        st.error(f"发现 {len(res.errors):,} 处错误，文件未发布，已有数据没有任何改动。"
                 "请按下表修改原文件后重新上传。")
        if res.truncated:
            st.caption("问题过多，只列出了前 200,000 处。")
        _show_problems(res, res.errors, key="up_err")
        st.download_button(
            "下载错误报告(XLSX，标出问题单元格)",
            partial(U.error_report, res.errors, content, res.file_name, res.table),
            file_name=U.report_name(res.file_name), mime=MEDIA_TYPES["xlsx"], key="up_err_xlsx",
            on_click="ignore", type="primary", icon=":material/download:")
        return

    ack = True
    if res.warnings:
        st.warning(f"校验通过，但有 {len(res.warnings):,} 条提示：这些行会保存，请核对是否有误。")
        _show_problems(res, res.warnings, key="up_warn")
        ack = st.checkbox(f"我已核对以上 {len(res.warnings):,} 条提示，确认按现有内容发布",
                          key=f"up_ack_{file_key}")
    else:
        st.success("校验通过，没有发现问题。")
    for p in res.scope_problems:
        st.error(U.md(p))

    st.subheader("发布")
    for line in _change_lines(res):
        st.markdown(line)
    if res.replace:
        st.warning("已选择“替换整表”：发布后该表只保留本文件中的数据。")
    blocked = not res.publishable or not ack
    confirm_key = st.session_state.get("up_result", (None,))[0]
    pending = st.session_state.get("up_confirm")
    if pending is not None and pending != confirm_key:
        # The data changed while the confirmation was open: what it said no longer holds.
        st.session_state.pop("up_confirm", None)
        st.warning("在您核对之后数据已被更新，上面的结果已按最新数据重新核对，请再次确认后发布。")
    st.button("发布…", type="primary", key="up_publish", disabled=blocked,
              on_click=lambda: st.session_state.__setitem__("up_confirm", confirm_key),
              help="请先勾选确认上面的提示" if res.publishable and not ack else None,
              icon=":material/publish:")
    if st.session_state.get("up_confirm") == confirm_key and not blocked:
        _confirm_dialog(res, content)


def upload_section() -> None:
    _flash()
    store, settings = ctx.store, ctx.settings
    c1, c2 = st.columns([2, 3], gap="large")
    with c1:
        # 工单 first: the table uploaded most, so the one a fresh page starts on.
        table = st.selectbox("数据表", U.UPLOAD_ORDER, format_func=_table_text, key="up_table",
                             persist_state="session")
        replace = st.checkbox("替换整表", key="up_replace",
                              help="不勾选时按表的规则合并(工单按编号更新、台账按月份替换等)；"
                                   "勾选后该表只保留本文件中的数据")
        if replace:
            st.warning("替换整表会删除该表中本文件没有的全部记录(旧版本仍可回滚)。请确认这是您想要的。")
    t = S.TABLES[table]
    with c2:
        st.markdown(f"**{t.label}**：{t.description}")
        st.download_button(f"下载“{t.label}”空白模板", partial(template_xlsx, table),
                           file_name=template_filename(table), mime=MEDIA_TYPES["xlsx"],
                           key=f"up_tpl_{table}", on_click="ignore", icon=":material/download:")
        with st.expander("字段说明"):
            st.dataframe(U.columns_frame(table), hide_index=True)
    if table != "units" and store.current("units") is None:
        st.info("还没有区划数据：请先上传“区划与网格”，其他各表的社区代码要与它对照。")
    if table == "projects" and store.current("pairings") is None:
        st.info("还没有结对关系数据：请先上传“结对联建关系”，项目的结对编号要与它对照。")

    n = st.session_state.get("up_file_n", 0)
    limit = U.upload_limit_mb(settings, st.get_option("server.maxUploadSize"))
    file = st.file_uploader(
        f"选择文件(CSV、XLSX 或 Parquet，不超过 {limit} MB)",
        type=U.ACCEPTED_TYPES, key=f"up_file_{n}", max_upload_size=limit,
        help="表头可用中文或英文列名；CSV 支持 UTF-8 与 GBK 编码")
    if file is None:
        st.caption("选择文件后立即校验，确认无误后再发布；校验不会改动任何已有数据。")
        return
    message = U.too_big(file.size, limit)
    if message:
        st.error(message)
        return
    content = file.getvalue()
    _suggest_table(file, content, table)
    res = _check(file, content, table, replace)
    _show_result(res, content, file.file_id)


def _switch_table(name: str) -> None:
    st.session_state["up_table"] = name


def _suggest_table(file, content: bytes, table: str) -> None:
    """When the headers name another table's columns better, say so and offer to switch."""
    key = (file.file_id, table)
    cached = st.session_state.get("up_suggest")
    if cached is None or cached[0] != key:
        cached = (key, U.suggest_table(content, file.name, table))
        st.session_state["up_suggest"] = cached
    other = cached[1]
    if other is None:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.info(f"表头看起来是「{S.TABLES[other].label}」，是否切换？"
                f"(当前选择的是「{S.TABLES[table].label}」)")
        st.button(f"切换为「{S.TABLES[other].label}」", key="up_switch_table", type="primary",
                  on_click=_switch_table, args=(other,), icon=":material/swap_horiz:")


# --- 版本历史 ------------------------------------------------------------------------------------


@st.cache_data(max_entries=64, show_spinner="正在比较版本…")
def _diff(data_dir: str, table: str, new: str, old: str | None) -> dict:
    from metrics.store.versions import Store

    return U.version_diff(Store(data_dir), table, new, old)


def versions_section() -> None:
    _flash()
    table = st.selectbox("数据表", U.TABLE_NAMES, format_func=_table_text, key="up_v_table",
                         persist_state="session")
    vers = ctx.store.versions(table)
    if not vers:
        st.info("该表还没有任何版本。")
        return
    st.dataframe(U.versions_frame(ctx.store, table), hide_index=True, key="up_v_list")
    by_id = {v["version"]: v for v in vers}
    ids = [v["version"] for v in reversed(vers)]

    def fmt(v: str) -> str:
        m = by_id[v]
        cur = "(当前)" if m["current"] else ""
        return f"{v}{cur} · {str(m.get('created_at', '')).replace('T', ' ')} · {m.get('user', '')}"

    pick = st.selectbox("查看版本", ids, format_func=fmt, key=f"up_v_pick_{table}")
    meta = by_id[pick]
    old = U.previous_version(ctx.store, table, pick)
    diff = _diff(str(ctx.data_dir), table, pick, old)
    st.markdown(f"**{pick}** · 上传人 {U.md(meta.get('user', ''))} · 文件 "
                f"{U.md(meta.get('file_name', ''))} · {str(meta.get('created_at', '')).replace('T', ' ')}")
    if old is None:
        st.markdown(f"这是该表的第一个版本，共 {diff['rows']:,} 行。")
    else:
        delta = diff["rows"] - diff["rows_before"]
        st.markdown(
            f"与上一版本 {old} 相比：共 {diff['rows']:,} 行(原 {diff['rows_before']:,} 行，"
            f"{delta:+,d})；按主键新增 **{diff['added']:,}** 行、删除 **{diff['removed']:,}** 行、"
            f"内容变化 **{diff['changed']:,}** 行、未变 {diff['unchanged']:,} 行。")
    st.caption(f"发布时记录：文件 {meta.get('rows_in_file', '—')} 行，新增 {meta.get('inserted', '—')}、"
               f"更新 {meta.get('updated', '—')}、删除 {meta.get('removed', 0)}；"
               f"SHA-256 {meta.get('sha256', '')[:16]}…")
    n_warn = meta.get("warning_count", 0)
    if n_warn and not account.scope:
        with st.expander(f"该版本的 {n_warn:,} 条提示"):
            from metrics.contract.validate import Problem

            st.dataframe(U.problems_frame([Problem(**w) for w in meta.get("warnings", [])]),
                         hide_index=True)
    if meta["current"]:
        st.caption("这是当前版本。")
    elif account.scope:
        st.caption("限定范围的账户不能回滚(回滚影响全市数据)。")
    else:
        _rollback_controls(table, pick, label=f"回滚到 {pick}", where="versions")


# --- 模板下载 ------------------------------------------------------------------------------------


def templates_section() -> None:
    st.caption("每张表一个空白模板：中文表头、一行示例，以及列出每列取值与规则的“填写说明”工作表。"
               "首次建库请先上传“区划与网格”，共建项目须在结对联建关系之后上传。")
    for name in U.TABLE_NAMES:
        t = S.TABLES[name]
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(f"**{t.label}**：{t.description}")
        c2.download_button("下载模板", partial(template_xlsx, name),
                           file_name=template_filename(name), mime=MEDIA_TYPES["xlsx"],
                           key=f"up_tpls_{name}", on_click="ignore", icon=":material/download:")


# --- the page ------------------------------------------------------------------------------------

if st.session_state.get("up_section") not in SECTIONS:
    st.session_state["up_section"] = SECTIONS[0]
section = st.segmented_control("功能", SECTIONS, key="up_section", required=True,
                               label_visibility="collapsed")
if account.scope:
    st.caption(f"您的账户限定在“{ctx.name(account.scope)}”：只能发布本范围内单位的数据，不能回滚。")

if section == "上传数据":
    upload_section()
elif section == "版本历史":
    versions_section()
elif section == "模板下载":
    templates_section()
