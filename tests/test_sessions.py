"""Logins that survive a reload (metrics/sessions.py, ui/session_routes.py): a one-time
hand-off turned into a signed cookie, server-side records that a logout, expiry, a removed
account, a new password or a lock-out end."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import stat

import pytest
from starlette.applications import Starlette

from metrics.accounts import Account, AccountStore, AuthError
from metrics.sessions import COOKIE_NAME, HANDOFF_SECONDS, SessionStore
from metrics.settings import (
    REQUIRE_LOGIN_ENV,
    Settings,
    load_settings,
    login_required_by_env,
    save_settings,
    viewers_must_login,
)
from ui import session_routes

PW = "correct horse 7"


class FakeClock:
    def __init__(self, t: float = 1_700_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, hours: float = 0.0, *, seconds: float = 0.0) -> None:
        self.t += hours * 3600 + seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def accts(tmp_path, clock) -> AccountStore:
    a = AccountStore(tmp_path, max_failures=2, lockout_minutes=10, clock=clock)
    a.add_or_update("ana", "analyst", PW)
    a.add_or_update("boss", "admin", PW)
    return a


@pytest.fixture
def sessions(tmp_path, accts, clock) -> SessionStore:
    return SessionStore(tmp_path, hours=8, accounts=accts, clock=clock)


def login(sessions: SessionStore, name: str = "ana") -> tuple[str, str]:
    """The session id and the signed cookie of a fresh login."""
    acct = sessions.accounts.authenticate(name, PW)
    sid, handoff = sessions.begin(acct)
    issued = sessions.exchange(handoff)
    assert issued is not None
    return sid, issued.cookie


# --- the store -----------------------------------------------------------------------------------


def test_handoff_gives_a_cookie_that_restores_the_account(sessions):
    sid, handoff = sessions.begin(Account("ana", "analyst"))
    issued = sessions.exchange(handoff)
    assert issued.max_age == 8 * 3600
    assert sessions.resolve(issued.cookie) == (sid, Account("ana", "analyst"))
    assert sessions.check(sid) == Account("ana", "analyst")


def test_handoff_works_once_and_only_briefly(sessions, clock):
    _, handoff = sessions.begin(Account("ana", "analyst"))
    assert sessions.exchange(handoff) is not None
    assert sessions.exchange(handoff) is None  # spent
    _, late = sessions.begin(Account("ana", "analyst"))
    clock.advance(seconds=HANDOFF_SECONDS + 1)
    assert sessions.exchange(late) is None
    assert sessions.exchange("not-a-handoff-token-at-all") is None
    assert sessions.exchange("") is None


def test_file_holds_hashes_only_and_key_is_private(sessions, tmp_path):
    _, handoff = sessions.begin(Account("ana", "analyst"))
    text_before = (tmp_path / "sessions.json").read_text(encoding="utf-8")
    assert handoff not in text_before
    cookie = sessions.exchange(handoff).cookie
    token = cookie.split(".")[0]
    text = (tmp_path / "sessions.json").read_text(encoding="utf-8")
    assert token not in text and cookie not in text
    assert stat.S_IMODE((tmp_path / ".session_key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "sessions.json").stat().st_mode) & 0o077 == 0


def test_tampered_or_unsigned_cookie_is_refused(sessions):
    _, cookie = login(sessions)
    token, sig = cookie.split(".")
    assert sessions.resolve(f"{token}.{sig[:-2]}AA") is None
    assert sessions.resolve(token) is None
    assert sessions.resolve(f"{token}x.{sig}") is None
    assert sessions.resolve("") is None and sessions.resolve(None) is None
    assert sessions.resolve("ä.ö") is None


def test_a_cookie_signed_with_another_deployments_key_is_refused(sessions, tmp_path, clock):
    other_dir = tmp_path / "other"
    other = SessionStore(other_dir, accounts=AccountStore(other_dir, clock=clock), clock=clock)
    _, cookie = login(sessions)
    token = cookie.split(".")[0]
    assert sessions.resolve(other.sign(token)) is None


def test_session_expires_after_session_hours(sessions, clock):
    sid, cookie = login(sessions)
    clock.advance(7.9)
    assert sessions.resolve(cookie) is not None
    clock.advance(0.2)
    assert sessions.resolve(cookie) is None and sessions.check(sid) is None


def test_logout_deletes_the_record(sessions):
    sid, cookie = login(sessions)
    other_sid, other_cookie = login(sessions)
    assert sessions.end(sid=sid) == "ana"
    assert sessions.resolve(cookie) is None and sessions.check(sid) is None
    assert sessions.resolve(other_cookie) == (other_sid, Account("ana", "analyst"))
    assert sessions.end(cookie=other_cookie) == "ana"
    assert sessions.resolve(other_cookie) is None
    assert sessions.active() == []


def test_removed_account_or_new_password_ends_its_sessions(sessions, accts):
    sid, cookie = login(sessions)
    _, boss_cookie = login(sessions, "boss")
    accts.add_or_update("ana", "viewer", None, scope="990102")  # role change: session follows
    assert sessions.resolve(cookie) == (sid, Account("ana", "viewer", "990102"))
    accts.add_or_update("ana", "viewer", "a brand new password")
    assert sessions.resolve(cookie) is None
    acct = accts.authenticate("ana", "a brand new password")
    sid2, handoff = sessions.begin(acct)
    cookie2 = sessions.exchange(handoff).cookie
    assert sessions.check(sid2) == acct
    accts.remove("ana")
    assert sessions.resolve(cookie2) is None and sessions.check(sid2) is None
    assert sessions.resolve(boss_cookie)[1].name == "boss"
    assert sessions.end_user("boss") == 1 and sessions.resolve(boss_cookie) is None


def test_lock_out_still_applies(sessions, accts, clock):
    sid, cookie = login(sessions)
    for _ in range(2):
        with pytest.raises(AuthError):
            accts.authenticate("ana", "wrong password")
    # Locked: no new login, and the open session stops until the lock expires.
    with pytest.raises(AuthError, match="锁定"):
        accts.authenticate("ana", PW)
    assert sessions.resolve(cookie) is None and sessions.check(sid) is None
    clock.advance(seconds=10 * 60 + 1)
    assert sessions.resolve(cookie) == (sid, Account("ana", "analyst"))


def test_damaged_sessions_file_logs_out_and_recovers(sessions, tmp_path):
    _, cookie = login(sessions)
    (tmp_path / "sessions.json").write_text("{not json", encoding="utf-8")
    assert sessions.resolve(cookie) is None
    _, cookie2 = login(sessions)
    assert sessions.resolve(cookie2) is not None


def test_expired_records_are_purged_on_write(sessions, clock, tmp_path):
    login(sessions)
    sessions.begin(Account("ana", "analyst"))  # a hand-off nobody collects
    clock.advance(9)
    login(sessions, "boss")
    recs = json.loads((tmp_path / "sessions.json").read_text(encoding="utf-8"))["sessions"]
    assert [r["user"] for r in recs.values()] == ["boss"]


# --- settings -------------------------------------------------------------------------------------


def test_session_hours_setting_round_trips(tmp_path):
    assert Settings().session_hours == 12.0
    save_settings(tmp_path, Settings(session_hours=2.5))
    assert load_settings(tmp_path).session_hours == 2.5


@pytest.mark.parametrize(("value", "expected"), [
    ("1", True), ("true", True), ("YES", True), ("on", True),
    ("0", False), ("", False), ("no", False),
])
def test_require_login_environment_variable(value, expected):
    env = {REQUIRE_LOGIN_ENV: value}
    assert login_required_by_env(env) is expected
    assert viewers_must_login(Settings(), env) is expected
    assert viewers_must_login(Settings(viewers_must_login=True), env) is True
    assert viewers_must_login(Settings(), {}) is False


# --- the HTTP routes --------------------------------------------------------------------------------


def call(method: str, path: str, *, body: bytes = b"", headers: dict | None = None,
         scheme: str = "http") -> tuple[int, dict[str, list[str]], bytes]:
    """One request through the routes as an ASGI server would make it."""
    app = Starlette(routes=session_routes.routes())
    hdrs = {"host": "127.0.0.1:8621", "content-type": "application/json", **(headers or {})}
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": scheme, "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(k.lower().encode(), v.encode()) for k, v in hdrs.items()],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8621),
    }
    out: dict = {"headers": {}, "body": b""}
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
            for k, v in message["headers"]:
                out["headers"].setdefault(k.decode().lower(), []).append(v.decode())
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    # The browser tests' Playwright keeps an event loop running in this thread for the whole
    # session: the request runs in a thread and loop of its own, as under a server.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return out["status"], out["headers"], out["body"]


@pytest.fixture
def served(monkeypatch, tmp_path, accts):
    monkeypatch.setenv("GRIDBOARD_DATA_DIR", str(tmp_path))
    save_settings(tmp_path, Settings(session_hours=3))
    return SessionStore(tmp_path, hours=3, accounts=accts)


def test_route_sets_a_signed_httponly_strict_expiring_cookie(served):
    sid, handoff = served.begin(Account("ana", "analyst"))
    status, headers, _ = call("POST", "/api/session", body=json.dumps({"handoff": handoff}).encode(),
                              headers={"origin": "http://127.0.0.1:8621"})
    assert status == 200
    (cookie,) = headers["set-cookie"]
    parts = [p.strip() for p in cookie.split(";")]
    name, value = parts[0].split("=", 1)
    assert name == COOKIE_NAME
    lower = [p.lower() for p in parts]
    assert "httponly" in lower and "samesite=strict" in lower and "path=/" in lower
    (max_age,) = [int(p.split("=")[1]) for p in lower if p.startswith("max-age=")]
    assert 10_790 <= max_age <= 10_800 and "secure" not in lower  # session_hours = 3
    assert headers["cache-control"] == ["no-store"]
    assert served.resolve(value) == (sid, Account("ana", "analyst"))
    # The hand-off is spent.
    again = call("POST", "/api/session", body=json.dumps({"handoff": handoff}).encode())
    assert again[0] == 401 and "set-cookie" not in again[1]


def test_route_cookie_is_secure_over_https(served):
    _, handoff = served.begin(Account("ana", "analyst"))
    status, headers, _ = call("POST", "/api/session", scheme="https",
                              body=json.dumps({"handoff": handoff}).encode())
    assert status == 200 and "secure" in headers["set-cookie"][0].lower()


@pytest.mark.parametrize("headers", [
    {"origin": "http://evil.example"},
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site", "origin": "http://other.127.0.0.1:8621"},
    {"origin": "http://evil.example", "x-forwarded-host": "gridboard.intranet"},
])
def test_route_refuses_another_sites_request(served, headers):
    _, handoff = served.begin(Account("ana", "analyst"))
    status, hdrs, _ = call("POST", "/api/session", headers=headers,
                           body=json.dumps({"handoff": handoff}).encode())
    assert status == 403 and "set-cookie" not in hdrs
    assert served.exchange(handoff) is not None  # still unspent


@pytest.mark.parametrize("headers", [
    {"sec-fetch-site": "same-origin", "origin": "https://gridboard.intranet"},  # proxy's Host
    {"origin": "https://gridboard.intranet", "x-forwarded-host": "gridboard.intranet"},
    {},  # not a browser: nothing cross-site about it
])
def test_route_accepts_the_dashboards_own_page_behind_a_proxy(served, headers):
    _, handoff = served.begin(Account("ana", "analyst"))
    status, hdrs, _ = call("POST", "/api/session", headers=headers,
                           body=json.dumps({"handoff": handoff}).encode())
    assert status == 200 and hdrs["set-cookie"]


@pytest.mark.parametrize("body", [b"", b"garbage", b"[]", b'{"handoff": 5}', b"x" * 5000])
def test_route_refuses_bad_bodies(served, body):
    status, hdrs, _ = call("POST", "/api/session", body=body)
    assert status == 401 and "set-cookie" not in hdrs


def test_logout_route_ends_the_record_and_clears_the_cookie(served):
    sid, cookie = login(served)
    status, headers, _ = call("POST", "/api/session/logout",
                              headers={"cookie": f"{COOKIE_NAME}={cookie}"})
    assert status == 200
    (clear,) = headers["set-cookie"]
    assert clear.startswith(f"{COOKIE_NAME}=") and "max-age=0" in clear.lower()
    assert served.check(sid) is None and served.resolve(cookie) is None
