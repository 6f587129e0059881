"""The HTTP side of a login that survives a reload (served next to Streamlit by serve.py).

``POST /api/session`` takes the one-time hand-off token the login form left (``{"handoff":
...}``) and answers with the signed session cookie: HttpOnly (no page script can read it),
SameSite=Strict (no other site's page can send it), Secure when the request came over HTTPS,
and expiring with the server-side record (``session_hours``). ``POST /api/session/logout``
deletes the record the cookie names and clears the cookie.

Both refuse a request whose Origin is another host: a page elsewhere cannot log a browser in
with an attacker's hand-off or out of its session. The session logic itself is in
metrics/sessions.py; these handlers only move tokens between HTTP and that store.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from metrics.accounts import AccountStore
from metrics.datadir import resolve_data_dir
from metrics.sessions import COOKIE_NAME, SessionStore
from metrics.settings import load_settings

SESSION_PATH = "/api/session"
LOGOUT_PATH = "/api/session/logout"
MAX_BODY = 4096


def _store() -> SessionStore:
    path, _ = resolve_data_dir(os.environ.get("GRIDBOARD_DATA_DIR"))
    s = load_settings(path)
    acc = AccountStore(path, max_failures=s.login_max_failures, lockout_minutes=s.lockout_minutes)
    return SessionStore(path, hours=s.session_hours, accounts=acc)


def _same_origin(request: Request) -> bool:
    """Only the dashboard's own pages may post here. A current browser says where a request
    comes from in Sec-Fetch-Site (no page script can change it), which also holds behind a
    reverse proxy that rewrites Host; without it, the Origin must name this host."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True  # no browser's cross-site request lacks both headers
    hosts = {request.headers.get("host", "").lower(),
             request.headers.get("x-forwarded-host", "").split(",")[0].strip().lower()}
    return urlsplit(origin).netloc.lower() in hosts - {""}


def _cookie_path() -> str:
    try:
        from streamlit import config

        base = (config.get_option("server.baseUrlPath") or "").strip("/")
    except Exception:  # outside a Streamlit server (tests)
        base = ""
    return f"/{base}" if base else "/"


def _answer(ok: bool, status: int = 200) -> JSONResponse:
    resp = JSONResponse({"ok": ok}, status_code=status)
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def session_login(request: Request) -> JSONResponse:
    if not _same_origin(request):
        return _answer(False, 403)
    raw = await request.body()
    try:
        handoff = json.loads(raw[:MAX_BODY]).get("handoff") if len(raw) <= MAX_BODY else None
    except (ValueError, AttributeError):
        handoff = None
    issued = await run_in_threadpool(_store().exchange, handoff) if handoff else None
    if issued is None:
        return _answer(False, 401)
    resp = _answer(True)
    resp.set_cookie(COOKIE_NAME, issued.cookie, max_age=issued.max_age, path=_cookie_path(),
                    httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


async def session_logout(request: Request) -> JSONResponse:
    if not _same_origin(request):
        return _answer(False, 403)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        await run_in_threadpool(_store().end, cookie=cookie)
    resp = _answer(True)
    resp.delete_cookie(COOKIE_NAME, path=_cookie_path(), httponly=True, samesite="strict",
                       secure=request.url.scheme == "https")
    return resp


def routes() -> list[Route]:
    return [
        Route(SESSION_PATH, session_login, methods=["POST"]),
        Route(LOGOUT_PATH, session_logout, methods=["POST"]),
    ]
