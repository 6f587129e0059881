"""Who is looking: anonymous viewer, a local account, or an OIDC identity (st.login).

Viewers may look without logging in when the setting allows it (a meeting-room screen); the
upload page never runs without an analyst or admin account.

``st.session_state["account"]`` holds the signed-in :class:`Account` (ui/state.py reads its
scope). A local login also sets ``account_source = "local"``: such an account is checked
against ``accounts.json`` on every run, so an admin's change of role or scope, or the removal
of the account, takes effect at once in every open session.

A local login survives a reload (metrics/sessions.py): the login form's callback opens a
server-side session record and leaves a one-time hand-off token, which a tiny script posts to
``/api/session`` (ui/session_routes.py, served by serve.py); that route sets the signed,
HttpOnly, SameSite=Strict cookie. A new page load finds the cookie in ``st.context.cookies``
and restores the account; every run re-checks the record (logout, expiry, removed account, new
password, lock-out end it). Logout deletes the record, then the route clears the cookie.
"""

from __future__ import annotations

import json

import streamlit as st

from metrics.accounts import (
    ROLE_LABELS,
    Account,
    AccountStore,
    AuthError,
    load_oidc_mapping,
    roles_from_claims,
)
from metrics.sessions import COOKIE_NAME, SessionStore
from metrics.settings import viewers_must_login
from metrics.store.upload import md
from metrics.store.versions import Store
from ui.state import Ctx

# Session keys a logout (or a change of account) must not leave behind: the unit filter (a
# scope), the upload and admin pages' state.
_UNIT_KEYS = ("district", "street", "community", "_unit_seeded")
_PAGE_PREFIXES = ("up_", "adm_")
# The HTTP routes of ui/session_routes.py (relative to the server's base path).
SESSION_ROUTE = "api/session"
LOGOUT_ROUTE = "api/session/logout"
MSG_SESSION_ENDED = "登录已失效(已过期、已在别处退出、密码已更改或账户被锁定)，请重新登录"


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def accounts(ctx: Ctx) -> AccountStore:
    s = ctx.settings
    return AccountStore(ctx.data_dir, max_failures=s.login_max_failures,
                        lockout_minutes=s.lockout_minutes)


def sessions(ctx: Ctx) -> SessionStore:
    return SessionStore(ctx.data_dir, hours=ctx.settings.session_hours, accounts=accounts(ctx))


def session_cookie() -> str | None:
    """The session cookie the browser sent when this tab connected (a test replaces this)."""
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no browser behind this run
        return None
    return value if isinstance(value, str) else None  # AppTest's stand-in client is a mock


def _audit(ctx: Ctx, event: dict) -> None:
    try:
        Store(ctx.data_dir).audit(event)
    except OSError:
        pass  # a read-only data dir must not stop anyone from logging in


def _forget_session_state() -> None:
    for k in list(st.session_state.keys()):
        if k in _UNIT_KEYS or (isinstance(k, str) and k.startswith(_PAGE_PREFIXES)):
            del st.session_state[k]


def _sign_in(ctx: Ctx, name: str, password: str) -> None:
    """Form callback: runs before the script, so the whole run sees the new account."""
    name = (name or "").strip()
    if not name or not password:
        st.session_state["login_error"] = "请输入用户名和密码"
        return
    try:
        acct = accounts(ctx).authenticate(name, password)
    except AuthError as e:
        st.session_state["login_error"] = str(e)
        _audit(ctx, {"event": "login_failed", "user": name[:64], "reason": str(e)})
        return
    _forget_session_state()
    st.session_state["account"] = acct
    st.session_state["account_source"] = "local"
    st.session_state.pop("login_error", None)
    try:
        sid, handoff = sessions(ctx).begin(acct)
    except OSError:
        pass  # a read-only data dir: the login lasts as long as this tab
    else:
        st.session_state["session_id"] = sid
        st.session_state["session_handoff"] = handoff
    _audit(ctx, {"event": "login", "user": acct.name, "role": acct.role, "scope": acct.scope})


def _submit_login(ctx: Ctx, form_key: str) -> None:
    name = st.session_state.get(f"{form_key}_name", "")
    password = st.session_state.get(f"{form_key}_password", "")
    st.session_state[f"{form_key}_password"] = ""  # never keep a password in the session
    _sign_in(ctx, name, password)


def login_form(ctx: Ctx, *, where=None, key: str = "login") -> None:
    """The Chinese login form (or the single-sign-on button when OIDC is configured)."""
    where = where if where is not None else st.container()
    if _oidc_configured():
        where.button("统一身份认证登录", on_click=st.login, type="primary", key=f"{key}_oidc")
        return
    with where:
        with st.form(key, clear_on_submit=False, border=True):
            st.text_input("用户名", key=f"{key}_name", autocomplete="username",
                          placeholder="请输入用户名")
            st.text_input("密码", type="password", key=f"{key}_password",
                          autocomplete="current-password", placeholder="请输入密码")
            st.form_submit_button("登录", type="primary", on_click=_submit_login,
                                  args=(ctx, key), width="stretch")
        err = st.session_state.get("login_error")
        if err:
            st.error(err)
        try:
            empty = not accounts(ctx).has_accounts()
        except AuthError as e:
            st.error(str(e))
            return
        if empty:
            st.info("尚未创建任何账户。请管理员在服务器上运行：\n\n"
                    "`python -m metrics user add 用户名 --role admin --password-stdin`")
        else:
            st.caption(f"连续输错 {ctx.settings.login_max_failures} 次密码，账户将锁定 "
                       f"{ctx.settings.lockout_minutes} 分钟。忘记密码请联系管理员。")


def _oidc_account(ctx: Ctx) -> Account | None:
    """The OIDC identity's account; stops the run with a message when the identity has no
    access or the role mapping file is broken."""
    if not getattr(st.user, "is_logged_in", False):
        return None
    try:
        acct = roles_from_claims(st.user.to_dict(), load_oidc_mapping(ctx.data_dir))
    except AuthError as e:
        st.title("网格治理看板")
        st.error(f"角色配置有误，暂时无法登录：{e}")
        st.button("退出登录", on_click=st.logout, key="oidc_logout_err")
        st.stop()
    if acct is None:
        claims = st.user.to_dict()
        who = claims.get("email") or claims.get("name") or "当前账号"
        st.title("网格治理看板")
        st.error(f"{md(str(who))} 没有访问本系统的权限，请联系管理员开通。")
        st.button("退出登录", on_click=st.logout, key="oidc_logout_denied")
        st.stop()
    return acct


def _drop_account(message: str) -> None:
    _forget_session_state()
    for k in ("account", "account_source", "session_id"):
        st.session_state.pop(k, None)
    st.session_state["login_error"] = message
    st.session_state["session_clear"] = True  # the stale cookie goes too


def _refresh_local(ctx: Ctx, acct: Account) -> Account | None:
    """The stored state of a locally signed-in account (None: it was removed, or its
    session ended)."""
    try:
        fresh = accounts(ctx).get(acct.name)
        sid = st.session_state.get("session_id")
        if fresh is not None and sid is not None and sessions(ctx).check(sid) is None:
            _drop_account(MSG_SESSION_ENDED)
            return None
    except AuthError:
        return acct  # a damaged file: keep the session as it is, the admin sees the error
    if fresh is None:
        _drop_account("您的账户已被删除或停用，请重新登录")
        return None
    if fresh != acct:
        if fresh.scope != acct.scope:
            for k in _UNIT_KEYS:
                st.session_state.pop(k, None)
        st.session_state["account"] = fresh
    return fresh


def current_account(ctx: Ctx) -> Account | None:
    if _oidc_configured():
        acct = _oidc_account(ctx)
        if acct != st.session_state.get("account"):
            for k in _UNIT_KEYS:
                st.session_state.pop(k, None)
        st.session_state["account"] = acct
        return acct
    acct = st.session_state.get("account")
    if acct is None:
        acct = _restore_from_cookie(ctx)
    elif st.session_state.get("account_source") == "local":
        acct = _refresh_local(ctx, acct)
    return acct


def _restore_from_cookie(ctx: Ctx) -> Account | None:
    """The account of the browser's session cookie (a reload, a new tab). Each cookie value is
    looked up once per tab: after a logout the tab still holds the old value."""
    cookie = session_cookie()
    if not cookie or st.session_state.get("_cookie_seen") == cookie:
        return None
    st.session_state["_cookie_seen"] = cookie
    try:
        hit = sessions(ctx).resolve(cookie)
    except (AuthError, OSError):
        return None
    if hit is None:
        st.session_state["session_clear"] = True
        return None
    sid, acct = hit
    _forget_session_state()
    st.session_state.update(account=acct, account_source="local", session_id=sid)
    return acct


def session_script() -> None:
    """Hand the login over to the browser's cookie, or clear the cookie after a logout: a
    one-off script posting to the app's own HTTP route (nothing is drawn)."""
    handoff = st.session_state.pop("session_handoff", None)
    clear = st.session_state.pop("session_clear", None)
    if handoff is None and not clear:
        return
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}/" if base else "/"
    if handoff is not None:
        url, body = prefix + SESSION_ROUTE, json.dumps({"handoff": handoff})
    else:
        url, body = prefix + LOGOUT_ROUTE, "{}"
    st.html(f"""<script>
fetch({json.dumps(url)}, {{method: "POST", credentials: "same-origin",
  headers: {{"Content-Type": "application/json"}}, body: {json.dumps(body)}}}).catch(() => {{}});
</script>""", unsafe_allow_javascript=True, width=1)


def login_required(ctx: Ctx) -> bool:
    """Viewers must log in: the admin setting or the deployment's GRIDBOARD_REQUIRE_LOGIN."""
    return viewers_must_login(ctx.settings)


def login_wall(ctx: Ctx) -> None:
    """The whole app for a logged-out visitor when a login is required: the form, and the run
    stops before any page, sidebar or download is drawn."""
    session_script()
    _, mid, _ = st.columns([1, 2, 1])
    with mid:
        st.title("网格治理看板")
        st.subheader("请先登录")
        st.caption("党建引领基层治理 · 本系统须登录后查看")
        login_form(ctx, key="login_main")
    st.stop()


def login_required_page(ctx: Ctx, what: str) -> None:
    """A page that needs an account, opened while logged out (a link, a bookmark): say so
    and offer the login form, instead of sending the visitor somewhere else."""
    _, mid, _ = st.columns([1, 2, 1])
    with mid:
        st.title("请先登录")
        st.caption(what)
        login_form(ctx, key="login_page")
    st.stop()


def _logout(ctx: Ctx | None = None) -> None:
    acct = st.session_state.get("account")
    frame = st.session_state.get("_frame")
    ctx = ctx if ctx is not None else (frame[0] if frame is not None else None)
    sid = st.session_state.pop("session_id", None)
    if ctx is not None:
        try:
            # The record goes first: the cookie is dead even if the browser keeps it.
            sessions(ctx).end(sid=sid, cookie=None if sid else session_cookie())
        except OSError:
            pass
        if acct is not None:
            _audit(ctx, {"event": "logout", "user": acct.name})
    _forget_session_state()
    st.session_state.pop("account", None)
    st.session_state.pop("account_source", None)
    st.session_state.pop("login_error", None)
    st.session_state["session_clear"] = True


def _oidc_logout(ctx: Ctx | None = None) -> None:
    _logout(ctx)
    st.logout()


def account_box(acct: Account | None, ctx: Ctx | None = None) -> None:
    side = st.sidebar
    with side:
        session_script()
    side.divider()
    if ctx is None:
        frame = st.session_state.get("_frame")
        ctx = frame[0] if frame is not None else None
    if acct is None:
        # The form is drawn only while the box is open: it is on every page, every rerun.
        with side.expander("登录(上传数据须登录)", expanded=bool(st.session_state.get("login_error")),
                           key="side_login", on_change="rerun") as box:
            if box.open and ctx is not None:
                login_form(ctx, key="login_side")
        return
    scope = ""
    if acct.scope:
        name = ctx.name(acct.scope) if ctx is not None else acct.scope
        scope = f" · 范围：{name}"
    side.caption(f"当前用户：{md(acct.name)}({ROLE_LABELS.get(acct.role, acct.role)}){md(scope)}")
    side.button("退出登录", on_click=_oidc_logout if _oidc_configured() else _logout,
                args=(ctx,), key="logout")
