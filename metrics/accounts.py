"""Accounts: local password accounts and OIDC role mapping.

Roles, from least to most privileged:

    viewer   浏览者       sees the dashboard
    analyst  数据分析员   also uploads and rolls back
    admin    管理员       also manages accounts and settings

A viewer or analyst may carry a *scope*: a district (6-digit) or street (9-digit) code;
everything they see is limited to that unit and what lies under it. This module only
records and validates the scope; pages enforce it through ``Account.scope``. Admins are
never scoped.

Local accounts live in ``<data dir>/accounts.json`` (one data dir = one deployment)::

    {"format": 1,
     "accounts": {"zhang": {"role": "analyst", "scope": "990101",
                            "password": {"algorithm": "scrypt", "n": 16384, "r": 8, "p": 1,
                                         "dklen": 32, "salt": "<base64>", "hash": "<base64>"},
                            "failures": 0, "locked_until": null}}}

The password itself is never stored or logged. The parameters are stored with each hash,
so they can be raised later: old hashes still verify and are re-hashed with the current
parameters on the next successful login.

Every change is a read-modify-write under an flock on ``<data dir>/.accounts.lock`` and is
written atomically (temp file beside, fsync, ``os.replace``), so readers never see a half
written file and two processes cannot lose each other's updates. Failure counts live in the
same file, so a restart does not reset them.

OIDC mode (Streamlit's ``st.login``): :func:`roles_from_claims` turns the identity
provider's claims into an :class:`Account`, either from claims named ``gridboard_role`` /
``gridboard_scope`` or through ``<data dir>/oidc_roles.json`` (:func:`load_oidc_mapping`).

No Streamlit here: the ``metrics`` package is UI-free.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("viewer", "analyst", "admin")
ROLE_LABELS = {"viewer": "浏览者", "analyst": "数据分析员", "admin": "管理员"}
_RANK = {role: i for i, role in enumerate(ROLES)}

ACCOUNTS_FILE = "accounts.json"
LOCK_FILE = ".accounts.lock"
OIDC_MAPPING_FILE = "oidc_roles.json"
FORMAT = 1

# Current hashing parameters (about 50 ms and 16 MiB per hash).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
SALT_BYTES = 16

NAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 1024  # bounds the work an attacker can make us do per attempt

MSG_BAD_CREDENTIALS = "用户名或密码错误"

_SCOPE_RE = re.compile(r"[0-9]{6}|[0-9]{9}")


class AuthError(Exception):
    """A refusal whose message (Chinese) is safe to show to the user."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    scope: str | None = None

    def can_upload(self) -> bool:
        return self.role in ("analyst", "admin")

    def can_admin(self) -> bool:
        return self.role == "admin"


# --- validation ----------------------------------------------------------------------------


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not (1 <= len(name) <= NAME_MAX):
        raise AuthError(f"用户名须为 1–{NAME_MAX} 个字符")
    for ch in name:
        # Whitespace, control, format (zero-width etc.), surrogate, private-use, unassigned.
        if ch.isspace() or unicodedata.category(ch).startswith("C"):
            raise AuthError("用户名不能包含空白或控制字符")
    return name


def _check_role(role: object) -> str:
    if role not in ROLES:
        raise AuthError(f"未知角色：{role!r}（可选：{'、'.join(ROLES)}）")
    return role  # type: ignore[return-value]


def _check_scope(scope: object, role: str) -> str | None:
    """None/'' = no scope; otherwise a 6-digit district or 9-digit street code."""
    if scope is None or scope == "":
        return None
    if isinstance(scope, int) and not isinstance(scope, bool):
        scope = str(scope)
    if not isinstance(scope, str) or not _SCOPE_RE.fullmatch(scope):
        raise AuthError(f"范围须为 6 位区县代码或 9 位街道代码：{scope!r}")
    if role == "admin":
        raise AuthError("管理员不能限定范围")
    return scope


def _check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise AuthError(f"密码至少 {PASSWORD_MIN} 个字符")
    if len(password) > PASSWORD_MAX:
        raise AuthError(f"密码最多 {PASSWORD_MAX} 个字符")
    return password


# --- hashing -------------------------------------------------------------------------------


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # maxmem: scrypt needs ~128*r*(n+p) bytes; leave room so stronger params still work.
    maxmem = 128 * r * (n + p + 2) + (32 << 20)
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=maxmem
    )


def _current_params() -> dict[str, Any]:
    return {"algorithm": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
            "dklen": SCRYPT_DKLEN}


def _hash_password(password: str) -> dict[str, Any]:
    salt = secrets.token_bytes(SALT_BYTES)
    rec = _current_params()
    digest = _scrypt(password, salt, rec["n"], rec["r"], rec["p"], rec["dklen"])
    rec["salt"] = base64.b64encode(salt).decode("ascii")
    rec["hash"] = base64.b64encode(digest).decode("ascii")
    return rec


def _verify_password(password: str, rec: dict[str, Any] | None) -> bool:
    """Constant-ish time: always one scrypt with the current parameters when ``rec`` is
    missing or unusable (unknown user), so unknown names cost the same as known ones."""
    try:
        if rec is None or rec.get("algorithm") != "scrypt":
            raise ValueError
        n, r, p, dklen = (int(rec[k]) for k in ("n", "r", "p", "dklen"))
        salt = base64.b64decode(rec["salt"], validate=True)
        expected = base64.b64decode(rec["hash"], validate=True)
    except (ValueError, KeyError, TypeError, AttributeError):
        _scrypt(password, secrets.token_bytes(SALT_BYTES), SCRYPT_N, SCRYPT_R, SCRYPT_P,
                SCRYPT_DKLEN)
        return False
    try:
        digest = _scrypt(password, salt, n, r, p, dklen)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest, expected)


def _needs_rehash(rec: dict[str, Any]) -> bool:
    return any(rec.get(k) != v for k, v in _current_params().items())


# --- the store -----------------------------------------------------------------------------


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """``data`` as JSON at ``path``, atomically (temp file beside it, fsync, rename, fsync of the
    folder) and readable by the owner only: accounts and sessions hold hashes and keys."""
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp: mode 0600
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class AccountStore:
    """Local accounts of one deployment (``<data_dir>/accounts.json``)."""

    def __init__(
        self,
        data_dir: str | os.PathLike,
        *,
        max_failures: int = 5,
        lockout_minutes: float = 15,
        clock: Callable[[], float] = time.time,
    ):
        if max_failures < 1:
            raise ValueError("max_failures must be >= 1")
        if lockout_minutes < 0:
            raise ValueError("lockout_minutes must be >= 0")
        self.root = Path(data_dir)
        self.path = self.root / ACCOUNTS_FILE
        self.lock_path = self.root / LOCK_FILE
        self.max_failures = int(max_failures)
        self.lockout_seconds = float(lockout_minutes) * 60.0
        self.clock = clock

    # --- file I/O ------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"format": FORMAT, "accounts": {}}
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
                raise ValueError
        except ValueError:
            # Never treat a damaged file as "no accounts": that would open first-run setup.
            raise AuthError(f"账户文件 {ACCOUNTS_FILE} 已损坏，请管理员检查数据目录") from None
        return data

    def _write(self, data: dict[str, Any]) -> None:
        write_private_json(self.path, data)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """Exclusive read-modify-write: yields the fresh data; the caller mutates it and the
        block writes it back on normal exit (and only then)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            data = self._read()
            yield data
            self._write(data)

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _account(name: str, rec: dict[str, Any]) -> Account:
        return Account(name=name, role=rec["role"], scope=rec.get("scope"))

    def _is_locked(self, rec: dict[str, Any], now: float) -> bool:
        until = rec.get("locked_until")
        return isinstance(until, int | float) and until > now

    @staticmethod
    def _locked_message(until: float) -> str:
        when = dt.datetime.fromtimestamp(until).strftime("%Y-%m-%d %H:%M")
        return f"密码错误次数过多，账户已锁定，请于 {when} 之后再试"

    @staticmethod
    def _admins(accounts: dict[str, Any]) -> int:
        return sum(1 for rec in accounts.values() if rec.get("role") == "admin")

    # --- public API ----------------------------------------------------------------------

    def add_or_update(
        self, name: str, role: str, password: str | None, *, scope: str | None = None
    ) -> Account:
        """Create an account or change an existing one's role, scope and password.

        ``password=None`` keeps an existing account's password (role/scope change only).
        A new password also clears a lock-out. Refuses to demote the last admin.
        """
        name = _check_name(name)
        role = _check_role(role)
        scope = _check_scope(scope, role)
        pw_rec = _hash_password(_check_password(password)) if password is not None else None
        with self._locked() as data:
            accounts = data["accounts"]
            old = accounts.get(name)
            if old is None and pw_rec is None:
                raise AuthError("新账户须设置密码")
            if old is not None and old.get("role") == "admin" and role != "admin" \
                    and self._admins(accounts) <= 1:
                raise AuthError("至少需要保留一个管理员")
            rec = dict(old or {"failures": 0, "locked_until": None})
            rec["role"] = role
            rec["scope"] = scope
            if pw_rec is not None:
                rec["password"] = pw_rec
                rec["failures"] = 0
                rec["locked_until"] = None
            accounts[name] = rec
        return Account(name, role, scope)

    def authenticate(self, name: str, password: str) -> Account:
        """Return the account, or raise :class:`AuthError` (wrong password, unknown user,
        locked). Unknown names cost one hash like known ones and give the same message."""
        if not isinstance(name, str) or not isinstance(password, str) \
                or len(password) > PASSWORD_MAX:
            # Still spend one hash, so this path is not a timing oracle either.
            _verify_password("", None)
            raise AuthError(MSG_BAD_CREDENTIALS)
        now = self.clock()
        rec = self._read()["accounts"].get(name)
        if rec is not None and self._is_locked(rec, now):
            raise AuthError(self._locked_message(rec["locked_until"]))
        pw_rec = rec.get("password") if rec is not None else None
        ok = _verify_password(password, pw_rec)

        # Record the outcome against the *fresh* record under the lock: a parallel attempt
        # may have locked the account or changed its password while we were hashing.
        with self._locked() as data:
            accounts = data["accounts"]
            cur = accounts.get(name)
            if cur is None:
                # Unknown (or just removed) user: rewrite the file unchanged, so this path
                # costs the same lock + fsync as counting a failure for a known user.
                raise_after = MSG_BAD_CREDENTIALS
            elif self._is_locked(cur, now):
                raise_after = self._locked_message(cur["locked_until"])
            elif ok and cur.get("password") == pw_rec:
                if cur.get("failures") or cur.get("locked_until") is not None:
                    cur["failures"] = 0
                    cur["locked_until"] = None
                if _needs_rehash(pw_rec):
                    cur["password"] = _hash_password(password)
                return self._account(name, cur)
            else:
                failures = int(cur.get("failures") or 0) + 1
                if failures >= self.max_failures:
                    until = now + self.lockout_seconds
                    cur["failures"] = 0  # a fresh count once the lock expires
                    cur["locked_until"] = until
                    raise_after = self._locked_message(until)
                else:
                    cur["failures"] = failures
                    cur["locked_until"] = None
                    raise_after = MSG_BAD_CREDENTIALS
        raise AuthError(raise_after)

    def remove(self, name: str) -> None:
        """Delete an account. Refuses to remove the last admin."""
        with self._locked() as data:
            accounts = data["accounts"]
            rec = accounts.get(name)
            if rec is None:
                raise AuthError(f"没有账户：{name}")
            if rec.get("role") == "admin" and self._admins(accounts) <= 1:
                raise AuthError("至少需要保留一个管理员")
            del accounts[name]

    def list(self) -> list[Account]:
        accounts = self._read()["accounts"]
        return [self._account(n, accounts[n]) for n in sorted(accounts)]

    def get(self, name: str) -> Account | None:
        rec = self._read()["accounts"].get(name)
        return None if rec is None else self._account(name, rec)

    def credential_stamp(self, name: str) -> str | None:
        """A short digest of the account's stored password hash (None: no such account).
        Sessions remember it, so a new password ends every session made with the old one."""
        rec = self._read()["accounts"].get(name)
        if rec is None:
            return None
        pw = rec.get("password") or {}
        material = f"{pw.get('salt')}:{pw.get('hash')}"
        return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]

    def is_locked(self, name: str) -> bool:
        rec = self._read()["accounts"].get(name)
        return rec is not None and self._is_locked(rec, self.clock())

    def unlock(self, name: str) -> None:
        """Clear a lock-out and the failure count (admin action)."""
        with self._locked() as data:
            rec = data["accounts"].get(name)
            if rec is None:
                raise AuthError(f"没有账户：{name}")
            rec["failures"] = 0
            rec["locked_until"] = None

    def has_accounts(self) -> bool:
        return bool(self._read()["accounts"])


# --- OIDC ----------------------------------------------------------------------------------


def _check_mapping_entry(where: str, entry: object, *, role_required: bool) -> dict:
    if not isinstance(entry, dict):
        raise AuthError(f"{OIDC_MAPPING_FILE}：{where} 应为对象")
    role = entry.get("role")
    if role is None and not role_required:
        scope = _check_scope(entry.get("scope"), "viewer")
        return {"role": None, "scope": scope}
    try:
        role = _check_role(role)
        scope = _check_scope(entry.get("scope"), role)
    except AuthError as e:
        raise AuthError(f"{OIDC_MAPPING_FILE}：{where}：{e}") from None
    return {"role": role, "scope": scope}


def _normalize_mapping(mapping: object) -> dict[str, dict[str, dict]]:
    """Validate a mapping ({"users": {...}, "groups": {...}}); raise AuthError if malformed.
    User keys (e-mail addresses) are matched case-insensitively."""
    if not isinstance(mapping, dict):
        raise AuthError(f"{OIDC_MAPPING_FILE} 应为对象")
    users, groups = mapping.get("users") or {}, mapping.get("groups") or {}
    if not isinstance(users, dict) or not isinstance(groups, dict):
        raise AuthError(f"{OIDC_MAPPING_FILE}：users 与 groups 应为对象")
    return {
        "users": {str(k).casefold(): _check_mapping_entry(f"users.{k}", v, role_required=False)
                  for k, v in users.items()},
        "groups": {str(k): _check_mapping_entry(f"groups.{k}", v, role_required=True)
                   for k, v in groups.items()},
    }


def load_oidc_mapping(data_dir: str | os.PathLike) -> dict | None:
    """``<data_dir>/oidc_roles.json``, validated; None if there is no such file.
    Raises :class:`AuthError` if the file is damaged or names an invalid role/scope."""
    path = Path(data_dir) / OIDC_MAPPING_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        raise AuthError(f"{OIDC_MAPPING_FILE} 不是有效的 JSON") from None
    _normalize_mapping(raw)
    return raw


def _claim_identity(claims: dict) -> str | None:
    for key in ("email", "preferred_username", "sub"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _group_sort_key(item: tuple[str, dict]) -> tuple:
    """Most privileged first: higher role, then unscoped, then district before street,
    then group name (only for determinism)."""
    group, entry = item
    scope = entry["scope"]
    return (-_RANK[entry["role"]], scope is not None, len(scope or ""), group)


def roles_from_claims(claims: dict, mapping: dict | None) -> Account | None:
    """The account an OIDC-authenticated user gets, or None (no access).

    1. Claims ``gridboard_role`` (and optional ``gridboard_scope``) set by the identity
       provider decide directly. An invalid scope denies access (never widens it).
    2. Otherwise ``mapping`` (see :func:`load_oidc_mapping`): the user's entry under
       ``users`` (keyed by e-mail, case-insensitive; an e-mail marked unverified is not
       used) and the most privileged of the user's groups under ``groups``. The user's own
       role wins over the groups'; the user's own scope wins over the chosen group's.
    3. Otherwise None. Admins are never scoped (a scope that comes with admin is dropped).

    The account name is the e-mail (else ``preferred_username``, else ``sub``).
    """
    if not isinstance(claims, dict):
        return None
    name = _claim_identity(claims)
    if name is None:
        return None

    role = claims.get("gridboard_role")
    if role in ROLES:
        if role == "admin":
            return Account(name, "admin", None)
        try:
            return Account(name, role, _check_scope(claims.get("gridboard_scope"), role))
        except AuthError:
            return None

    if not mapping:
        return None
    m = _normalize_mapping(mapping)

    user_entry = None
    email = claims.get("email")
    if isinstance(email, str) and claims.get("email_verified") is not False:
        user_entry = m["users"].get(email.strip().casefold())
    if user_entry is None:
        for key in ("preferred_username", "sub"):
            value = claims.get(key)
            if isinstance(value, str) and value.strip().casefold() in m["users"]:
                user_entry = m["users"][value.strip().casefold()]
                break

    groups = claims.get("groups")
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list | tuple):
        groups = []
    matched = sorted(
        ((g, m["groups"][g]) for g in {g for g in groups if isinstance(g, str)}
         if g in m["groups"]),
        key=_group_sort_key,
    )
    best_group = matched[0][1] if matched else None

    if user_entry is not None and user_entry["role"] is not None:
        role = user_entry["role"]
        scope = user_entry["scope"]
    elif best_group is not None:
        role = best_group["role"]
        scope = best_group["scope"]
        if user_entry is not None and user_entry["scope"] is not None:
            scope = user_entry["scope"]
    else:
        return None
    return Account(name, role, None if role == "admin" else scope)
