"""Logins under Streamlit's AppTest: the login form opens a server-side session and hands it to
the browser; a new tab with the cookie is logged in; logout ends it; a page that needs a login
says 请先登录; with GRIDBOARD_REQUIRE_LOGIN every page shows only the login form.

AppTest has no browser, so ``ui.auth_gate.session_cookie`` (what ``st.context.cookies`` holds)
is replaced per test, and the hand-off the page's script would post to ``/api/session`` is
exchanged directly with :meth:`SessionStore.exchange`, as that route does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metrics.accounts import Account, AccountStore
from metrics.sessions import SessionStore
from metrics.settings import REQUIRE_LOGIN_ENV, Settings, save_settings
from tests import upload_helpers as H
from tests.test_pages import _fresh_streamlit_caches, run  # noqa: F401 - the autouse fixture
from ui import auth_gate

TIMEOUT = 120
PAGES = ("overview", "coverage", "issues", "pairing", "grids", "upload", "presentation")
# What a logged-out visitor may be shown when a login is required: the login form and its
# headings, nothing drawn from the data.
LOGIN_ONLY = {"title", "subheader", "caption", "text_input", "button", "html", "error", "info"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return H.make_sample(tmp_path_factory.mktemp("login") / "store",
                         accounts={"ana": ("analyst", None), "boss": ("admin", None),
                                   "kan": ("viewer", "990102")})


@pytest.fixture
def store_dir(sample, tmp_path) -> Path:
    return H.copy_store(sample, tmp_path / "store")


@pytest.fixture
def cookie(monkeypatch):
    """Set ``cookie.value`` to what the browser sends with the next new tab."""

    class Jar:
        value: str | None = None

    jar = Jar()
    monkeypatch.setattr(auth_gate, "session_cookie", lambda: jar.value)
    return jar


def new_tab(monkeypatch, data_dir: Path, **query: str) -> AppTest:
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(data_dir))
    at = AppTest.from_file(H.APP, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return run(at)


def to_page(at: AppTest, page: str) -> AppTest:
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
    return run(at)


def log_in(at: AppTest, form: str, name: str = "ana", password: str = H.PASSWORD) -> AppTest:
    at.text_input(key=f"{form}_name").input(name)
    at.text_input(key=f"{form}_password").input(password)
    at.button(key=f"FormSubmitter:{form}-登录").click()
    return run(at)


def element_types(node) -> list[str]:
    out = []
    for child in (getattr(node, "children", None) or {}).values():
        kids = getattr(child, "children", None)
        if kids:
            out += element_types(child)
        elif getattr(child, "type", None) not in (None, "flex_container", "column", "form", "main",
                                                 "sidebar", "event", "bottom"):
            out.append(child.type)
    return out


def texts(elements) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", e.value) for e in elements]


def scripts(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def user_line(at: AppTest) -> str:
    return " ".join(c for c in texts(at.sidebar.caption) if "当前用户" in c)


def handoff_to_cookie(at: AppTest, data_dir: Path) -> str:
    """What the page's script does: post the hand-off to /api/session, get the cookie."""
    m = re.search(r'\\"handoff\\": \\"([^\\"]+)\\"', scripts(at))
    assert m, scripts(at)
    issued = SessionStore(data_dir).exchange(m.group(1))
    assert issued is not None
    return issued.cookie


# --- require login ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_by_url_shows_only_the_login_when_required(monkeypatch, store_dir, cookie,
                                                              page):
    monkeypatch.setenv(REQUIRE_LOGIN_ENV, "1")
    d = H.districts(store_dir)[0]
    at = new_tab(monkeypatch, store_dir, unit=d, period="2026-01", pm="单月")
    to_page(at, page)
    shown = element_types(at._tree)
    assert set(shown) <= LOGIN_ONLY, shown
    assert "请先登录" in texts(at.subheader)
    assert at.text_input(key="login_main_name") is not None
    assert not at.metric and not at.dataframe and not at.get("plotly_chart")
    assert not at.get("download_button") and not at.code and not at.expander
    assert not at.sidebar.children or set(element_types(at.sidebar)) <= {"html"}
    # The only markup is the stylesheet: no script hands out anything.
    assert "<script" not in scripts(at)


def test_admin_setting_alone_also_requires_login(monkeypatch, store_dir, cookie):
    monkeypatch.delenv(REQUIRE_LOGIN_ENV, raising=False)
    save_settings(store_dir, Settings(viewers_must_login=True))
    at = to_page(new_tab(monkeypatch, store_dir), "issues")
    assert set(element_types(at._tree)) <= LOGIN_ONLY and not at.metric
    save_settings(store_dir, Settings(viewers_must_login=False))
    at = to_page(new_tab(monkeypatch, store_dir), "issues")
    assert at.metric  # anonymous viewers allowed again


def test_logged_in_viewer_sees_numbers_when_login_required(monkeypatch, store_dir, cookie):
    monkeypatch.setenv(REQUIRE_LOGIN_ENV, "1")
    at = new_tab(monkeypatch, store_dir)
    log_in(at, "login_main", "kan")
    assert "kan" in user_line(at) and at.metric
    # A viewer's session cannot reach the upload tools by URL either.
    to_page(at, "upload")
    assert not at.file_uploader and "数据上传" not in texts(at.title)


def test_admin_page_shows_the_environment_forces_login(monkeypatch, store_dir, cookie):
    monkeypatch.setenv(REQUIRE_LOGIN_ENV, "1")
    at = new_tab(monkeypatch, store_dir)
    log_in(at, "login_main", "boss")
    to_page(at, "admin_settings")
    box = [c for c in at.checkbox if c.label == "浏览者须登录"]
    assert len(box) == 1 and box[0].value is True and box[0].disabled
    assert REQUIRE_LOGIN_ENV in (box[0].help or "")
    assert any(n.label == "登录有效期(小时)" for n in at.number_input)


# --- a login that survives a reload -------------------------------------------------------------


def test_login_survives_a_new_tab_and_logout_ends_it(monkeypatch, store_dir, cookie):
    at = new_tab(monkeypatch, store_dir)
    at.session_state["side_login"] = True  # the sidebar's 登录 box, opened
    run(at)
    log_in(at, "login_side")
    assert "ana" in user_line(at)
    sid = at.session_state["session_id"]
    assert "/api/session" in scripts(at)
    cookie.value = handoff_to_cookie(at, store_dir)
    assert "handoff" not in scripts(run(at))  # handed over once

    reloaded = new_tab(monkeypatch, store_dir)  # a reload: a new session with the cookie
    assert "ana" in user_line(reloaded)
    assert reloaded.session_state["account"] == Account("ana", "analyst")
    assert reloaded.session_state["session_id"] == sid

    reloaded.button(key="logout").click()
    run(reloaded)
    assert not user_line(reloaded)
    assert "/api/session/logout" in scripts(reloaded)  # the browser's cookie is cleared too
    assert SessionStore(store_dir).resolve(cookie.value) is None
    assert not user_line(run(reloaded))  # the tab's old cookie does not log it back in
    again = new_tab(monkeypatch, store_dir)  # even if the browser had kept the cookie
    assert not user_line(again)
    audit = [e["event"] for e in H.Store(store_dir).audit_lines()]
    assert audit.count("login") == 1 and audit.count("logout") == 1


def test_removed_account_or_ended_session_logs_the_tab_out(monkeypatch, store_dir, cookie):
    at = new_tab(monkeypatch, store_dir)
    at.session_state["side_login"] = True
    run(at)
    log_in(at, "login_side")
    cookie.value = handoff_to_cookie(at, store_dir)
    # The session ends elsewhere (a logout in another tab): this tab is logged out on its next run.
    SessionStore(store_dir).end(sid=at.session_state["session_id"])
    run(at)
    assert not user_line(at) and "登录已失效" in " ".join(texts(at.sidebar.error))

    at2 = new_tab(monkeypatch, store_dir)
    at2.session_state["side_login"] = True
    run(at2)
    log_in(at2, "login_side", "kan")
    cookie.value = handoff_to_cookie(at2, store_dir)
    AccountStore(store_dir).remove("kan")
    assert not user_line(run(at2))
    assert not user_line(new_tab(monkeypatch, store_dir))


def test_locked_account_cannot_log_in_and_its_cookie_stops(monkeypatch, store_dir, cookie):
    save_settings(store_dir, Settings(login_max_failures=2, lockout_minutes=10))
    at = new_tab(monkeypatch, store_dir)
    at.session_state["side_login"] = True
    run(at)
    log_in(at, "login_side")
    cookie.value = handoff_to_cookie(at, store_dir)
    assert "ana" in user_line(new_tab(monkeypatch, store_dir))
    browser_cookie, cookie.value = cookie.value, None
    other = new_tab(monkeypatch, store_dir)  # somebody else's browser, guessing the password
    other.session_state["side_login"] = True
    run(other)
    for _ in range(2):
        log_in(other, "login_side", "ana", "wrong password")
    assert "锁定" in " ".join(texts(other.sidebar.error))
    cookie.value = browser_cookie  # the logged-in browser, while the account is locked
    assert not user_line(new_tab(monkeypatch, store_dir))
    assert not user_line(run(at))  # its open tab stops too


# --- a page that needs a login --------------------------------------------------------------------


def test_upload_by_url_logged_out_asks_to_log_in_then_shows_the_page(monkeypatch, store_dir,
                                                                     cookie):
    monkeypatch.delenv(REQUIRE_LOGIN_ENV, raising=False)
    at = to_page(new_tab(monkeypatch, store_dir), "upload")
    assert texts(at.title) == ["请先登录"]
    assert any("数据上传" in c for c in texts(at.caption))
    assert not at.file_uploader
    log_in(at, "login_page")
    assert texts(at.title) == ["数据上传"] and at.file_uploader
    assert "ana" in user_line(at)
