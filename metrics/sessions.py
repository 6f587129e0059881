"""Login sessions that survive a reload: server-side records behind a signed cookie.

A login goes in two steps, because the Streamlit script that checks the password cannot set an
HTTP cookie (it talks to the browser over a websocket):

1. After :meth:`AccountStore.authenticate` succeeds, :meth:`SessionStore.begin` writes a
   session record with a one-time *hand-off* token (valid ``HANDOFF_SECONDS``) and returns it.
2. The browser posts that token to the app's own HTTP route, which calls
   :meth:`SessionStore.exchange`: the hand-off is spent and a fresh session token is returned;
   the route puts it, signed, into an HttpOnly, SameSite=Strict cookie that expires with the
   record.

Every later page load sends the cookie; :meth:`SessionStore.resolve` checks the signature, the
record (not expired, not logged out) and the account as stored now: a removed account, a new
password (set by an admin, or after a reset) or an account locked out by failed logins ends
the session. :meth:`SessionStore.end` deletes the record at logout.

Only SHA-256 hashes of the tokens are stored, in ``<data dir>/sessions.json`` (same locking and
atomic writes as ``accounts.json``); the signing key is ``<data dir>/.session_key`` (mode 0600).
Copying the data dir elsewhere carries the key with it, so a restored backup keeps sessions.

No Streamlit here: the ``metrics`` package is UI-free.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metrics.accounts import Account, AccountStore, write_private_json

SESSIONS_FILE = "sessions.json"
KEY_FILE = ".session_key"
LOCK_FILE = ".sessions.lock"
COOKIE_NAME = "gridboard_session"
HANDOFF_SECONDS = 120  # the browser posts the hand-off right after the login form's run
FORMAT = 1


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Issued:
    """What the HTTP route needs to set the cookie."""

    cookie: str  # the signed value
    max_age: int  # seconds until the record expires


class SessionStore:
    """Session records of one deployment (``<data_dir>/sessions.json``)."""

    def __init__(
        self,
        data_dir: str | os.PathLike,
        *,
        hours: float = 12.0,
        accounts: AccountStore | None = None,
        clock: Callable[[], float] = time.time,
    ):
        if hours <= 0:
            raise ValueError("hours must be > 0")
        self.root = Path(data_dir)
        self.path = self.root / SESSIONS_FILE
        self.lock_path = self.root / LOCK_FILE
        self.key_path = self.root / KEY_FILE
        self.seconds = float(hours) * 3600.0
        self.clock = clock
        self.accounts = accounts if accounts is not None else AccountStore(self.root, clock=clock)

    # --- signing key -----------------------------------------------------------------------

    def _key(self) -> bytes:
        try:
            key = self.key_path.read_bytes()
        except FileNotFoundError:
            key = b""
        if len(key) >= 32:
            return key
        self.root.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once agree on the first key written.
        try:
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            time.sleep(0.05)
            return self.key_path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
            fh.flush()
            os.fsync(fh.fileno())
        return self.key_path.read_bytes()

    def sign(self, token: str) -> str:
        mac = hmac.new(self._key(), token.encode("ascii"), hashlib.sha256).digest()
        return f"{token}.{base64.urlsafe_b64encode(mac).decode('ascii').rstrip('=')}"

    def _unsign(self, value: str) -> str | None:
        if not isinstance(value, str) or value.count(".") != 1 or len(value) > 200:
            return None
        token = value.split(".", 1)[0]
        try:
            expected = self.sign(token)
        except UnicodeEncodeError:
            return None
        return token if hmac.compare_digest(expected, value) else None

    # --- file I/O (as in accounts.py) --------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            # A damaged file only logs everybody out; it never lets anybody in.
            return {"format": FORMAT, "sessions": {}}
        if not isinstance(data, dict) or not isinstance(data.get("sessions"), dict):
            return {"format": FORMAT, "sessions": {}}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        write_private_json(self.path, data)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            now = self.clock()
            # Expired records and hand-offs nobody collected go on every write.
            data["sessions"] = {
                sid: rec for sid, rec in data["sessions"].items()
                if isinstance(rec, dict) and float(rec.get("expires", 0)) > now
                and (rec.get("token") or float(rec.get("handoff_expires", 0)) > now)
            }
            yield data
            self._write(data)

    def _stamp(self, name: str) -> str | None:
        return self.accounts.credential_stamp(name)

    # --- public API --------------------------------------------------------------------------

    def begin(self, account: Account) -> tuple[str, str]:
        """A new session for an account that has just passed :meth:`AccountStore.authenticate`.
        Returns ``(session_id, handoff)``: the id is not secret (the UI keeps it to end the
        session); the hand-off is, and may be exchanged once."""
        sid = secrets.token_hex(8)
        handoff = secrets.token_urlsafe(32)
        now = self.clock()
        with self._locked() as data:
            data["sessions"][sid] = {
                "user": account.name,
                "stamp": self._stamp(account.name),
                "created": now,
                "expires": now + self.seconds,
                "handoff": _sha256(handoff),
                "handoff_expires": now + HANDOFF_SECONDS,
                "token": None,
            }
        return sid, handoff

    def exchange(self, handoff: str) -> Issued | None:
        """Spend a hand-off token; None when it is unknown, used or stale."""
        if not isinstance(handoff, str) or not (10 <= len(handoff) <= 100):
            return None
        digest = _sha256(handoff)
        now = self.clock()
        # A guessed token costs one read, not a locked write.
        if not any(rec.get("handoff") and hmac.compare_digest(rec["handoff"], digest)
                   for rec in self._read()["sessions"].values() if isinstance(rec, dict)):
            return None
        token = secrets.token_urlsafe(32)
        with self._locked() as data:
            for rec in data["sessions"].values():
                h = rec.get("handoff")
                if h and hmac.compare_digest(h, digest) \
                        and float(rec.get("handoff_expires", 0)) > now:
                    rec["handoff"] = None
                    rec["handoff_expires"] = None
                    rec["token"] = _sha256(token)
                    max_age = int(float(rec["expires"]) - now)
                    break
            else:
                return None
        return Issued(self.sign(token), max(1, max_age))

    def _find(self, data: dict[str, Any], cookie: str) -> tuple[str, dict] | None:
        token = self._unsign(cookie)
        if token is None:
            return None
        digest = _sha256(token)
        for sid, rec in data["sessions"].items():
            t = rec.get("token")
            if t and hmac.compare_digest(t, digest):
                return sid, rec
        return None

    def resolve(self, cookie: str | None) -> tuple[str, Account] | None:
        """The session id and account a cookie stands for, or None (bad signature, unknown,
        expired or ended session; the account removed, its password changed, or locked)."""
        if not cookie:
            return None
        hit = self._find(self._read(), cookie)
        if hit is None:
            return None
        sid, rec = hit
        return self._check(sid, rec)

    def check(self, sid: str | None) -> Account | None:
        """The account of a session known by its id (a login made in this browser tab), or
        None when it no longer counts."""
        if not sid:
            return None
        rec = self._read()["sessions"].get(sid)
        hit = self._check(sid, rec) if isinstance(rec, dict) else None
        return hit[1] if hit else None

    def _check(self, sid: str, rec: dict) -> tuple[str, Account] | None:
        if float(rec.get("expires", 0)) <= self.clock():
            return None
        name = rec.get("user")
        if not isinstance(name, str):
            return None
        acct = self.accounts.get(name)
        if acct is None or self._stamp(name) != rec.get("stamp") or self.accounts.is_locked(name):
            return None
        return sid, acct

    def end(self, *, sid: str | None = None, cookie: str | None = None) -> str | None:
        """Delete a session (by id, or by the cookie's value). Returns the user's name."""
        with self._locked() as data:
            if sid is None and cookie:
                hit = self._find(data, cookie)
                sid = hit[0] if hit else None
            rec = data["sessions"].pop(sid, None) if sid else None
        return rec.get("user") if isinstance(rec, dict) else None

    def end_user(self, name: str) -> int:
        """Delete every session of one account (an admin's removal or password reset)."""
        with self._locked() as data:
            gone = [sid for sid, rec in data["sessions"].items() if rec.get("user") == name]
            for sid in gone:
                del data["sessions"][sid]
        return len(gone)

    def active(self) -> list[tuple[str, str, float]]:
        """``(session id, user, expires)`` of the sessions that hold a cookie."""
        now = self.clock()
        return sorted(
            (sid, rec.get("user"), float(rec["expires"]))
            for sid, rec in self._read()["sessions"].items()
            if rec.get("token") and float(rec.get("expires", 0)) > now
        )
