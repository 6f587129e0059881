"""Who is looking: anonymous viewer, a local account, or an OIDC identity (st.login).

Viewers may look without logging in when the setting allows it (a meeting-room screen); the
upload page never runs without an analyst or admin account.
"""

from __future__ import annotations

import streamlit as st

from metrics.auth import ROLE_LABELS, Account, AccountStore, AuthError, load_oidc_mapping, roles_from_claims

from .state import Ctx


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _accounts(ctx: Ctx) -> AccountStore:
    s = ctx.settings
    return AccountStore(ctx.data_dir, max_failures=s.login_max_failures,
                        lockout_minutes=s.lockout_minutes)


def _oidc_account(ctx: Ctx) -> Account | None:
    if not getattr(st.user, "is_logged_in", False):
        return None
    return roles_from_claims(st.user.to_dict(), load_oidc_mapping(ctx.data_dir))


def login_form(ctx: Ctx, *, where=st) -> None:
    if _oidc_configured():
        where.button("统一身份认证登录", on_click=st.login, type="primary")
        return
    with where.form("login", clear_on_submit=False):
        name = st.text_input("用户名", key="login_name")
        password = st.text_input("密码", type="password", key="login_password")
        ok = st.form_submit_button("登录", type="primary")
    if ok:
        try:
            st.session_state["account"] = _accounts(ctx).authenticate(name, password)
            st.session_state.pop("login_error", None)
            st.rerun()
        except AuthError as e:
            where.error(str(e))


def current_account(ctx: Ctx) -> Account | None:
    if _oidc_configured():
        acct = _oidc_account(ctx)
        st.session_state["account"] = acct
        return acct
    return st.session_state.get("account")


def require_login(ctx: Ctx) -> Account | None:
    """The signed-in account, or None for an anonymous viewer; stops the page with a login form
    when viewers must log in."""
    acct = current_account(ctx)
    if acct is None and ctx.settings.viewers_must_login:
        st.title("网格治理看板")
        st.caption("请登录后查看")
        login_form(ctx)
        st.stop()
    return acct


def _logout() -> None:
    st.session_state.pop("account", None)
    for k in ("district", "street", "community"):
        st.session_state.pop(k, None)


def account_box(acct: Account | None) -> None:
    side = st.sidebar
    side.divider()
    if acct is None:
        with side.expander("登录(上传数据需登录)"):
            ctx = st.session_state.get("_frame", (None,))[0]
            if ctx is not None:
                login_form(ctx, where=st)
        return
    scope = f" · 范围 {acct.scope}" if acct.scope else ""
    side.caption(f"当前用户：{acct.name}({ROLE_LABELS.get(acct.role, acct.role)}){scope}")
    if _oidc_configured():
        side.button("退出登录", on_click=st.logout)
    else:
        side.button("退出登录", on_click=_logout)
