"""Accounts (metrics/auth.py): passwords, lock-out, atomic shared file, OIDC roles.

Each scrypt hash takes ~50 ms, so tests share accounts where they can.
"""

from __future__ import annotations

import json
import multiprocessing
import time

import pytest

from metrics import accounts as auth
from metrics.accounts import Account, AccountStore, AuthError, load_oidc_mapping, roles_from_claims

PW = "correct horse 7"


class FakeClock:
    def __init__(self, t: float = 1_700_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, minutes: float) -> None:
        self.t += minutes * 60


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock) -> AccountStore:
    s = AccountStore(tmp_path, clock=clock)
    s.add_or_update("zhang", "analyst", PW, scope="990101")
    return s


def fail(store: AccountStore, name: str, password: str) -> str:
    with pytest.raises(AuthError) as e:
        store.authenticate(name, password)
    return str(e.value)


# --- passwords -------------------------------------------------------------------------------


def test_right_password_returns_account(store):
    acct = store.authenticate("zhang", PW)
    assert acct == Account("zhang", "analyst", "990101")
    assert acct.can_upload() and not acct.can_admin()
    assert store.has_accounts()
    assert store.list() == [acct]


def test_wrong_password_fails_with_chinese_message(store):
    assert fail(store, "zhang", PW + "x") == "用户名或密码错误"


def test_unknown_user_same_message_and_still_hashes(store, monkeypatch):
    calls = []
    real = auth._scrypt
    monkeypatch.setattr(auth, "_scrypt", lambda *a: calls.append(1) or real(*a))
    assert fail(store, "nobody", PW) == fail(store, "zhang", "wrong password")
    assert len(calls) == 2  # one hash for the unknown name too (timing like a known one)


def test_file_has_no_password_and_salts_differ(tmp_path, clock):
    s = AccountStore(tmp_path, clock=clock)
    s.add_or_update("li", "viewer", PW)
    s.add_or_update("wang", "viewer", PW)
    text = (tmp_path / "accounts.json").read_text(encoding="utf-8")
    assert PW not in text
    recs = json.loads(text)["accounts"]
    li, wang = recs["li"]["password"], recs["wang"]["password"]
    assert li["algorithm"] == "scrypt" and (li["n"], li["r"], li["p"], li["dklen"]) == (
        2**14, 8, 1, 32)
    assert li["salt"] != wang["salt"] and li["hash"] != wang["hash"]
    assert (tmp_path / "accounts.json").stat().st_mode & 0o077 == 0


# --- lock-out --------------------------------------------------------------------------------


def test_five_failures_lock_even_right_password_until_expiry(store, clock):
    for _ in range(4):
        assert fail(store, "zhang", "wrong password") == "用户名或密码错误"
    assert "锁定" in fail(store, "zhang", "wrong password")  # 5th failure locks
    msg = fail(store, "zhang", PW)  # right password refused while locked
    assert "锁定" in msg and "之后再试" in msg
    assert store.is_locked("zhang")
    # The count persisted: a fresh store object (a restart) still sees the lock.
    restarted = AccountStore(store.root, clock=clock)
    assert "锁定" in fail(restarted, "zhang", PW)

    clock.advance(14.9)
    assert "锁定" in fail(restarted, "zhang", PW)
    clock.advance(0.2)  # 15 min passed
    assert restarted.authenticate("zhang", PW).name == "zhang"


def test_success_resets_failure_count(store):
    for _ in range(4):
        fail(store, "zhang", "wrong password")
    store.authenticate("zhang", PW)
    for _ in range(4):
        assert fail(store, "zhang", "wrong password") == "用户名或密码错误"
    assert not store.is_locked("zhang")


def test_admin_unlock_clears_lock(tmp_path, clock):
    s = AccountStore(tmp_path, max_failures=2, lockout_minutes=5, clock=clock)
    s.add_or_update("zhao", "viewer", PW)
    fail(s, "zhao", "wrong password")
    assert "锁定" in fail(s, "zhao", "wrong password")
    s.unlock("zhao")
    assert s.authenticate("zhao", PW).role == "viewer"


# --- concurrency -----------------------------------------------------------------------------


def _add_many(data_dir: str, prefix: str, n: int, start) -> None:
    s = AccountStore(data_dir)
    write = s._write

    def slow_write(data):  # widen the read→write window so a missing lock would lose adds
        time.sleep(0.03)
        write(data)

    s._write = slow_write
    start.wait()
    for i in range(n):
        s.add_or_update(f"{prefix}{i}", "viewer", f"password-{prefix}{i}")


def test_concurrent_adds_from_two_processes_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_add_many, args=(str(tmp_path), p, 6, start)) for p in "ab"]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    names = {a.name for a in AccountStore(tmp_path).list()}
    assert names == {f"{p}{i}" for p in "ab" for i in range(6)}
    assert not list(tmp_path.glob("*.tmp"))  # no temp files left beside


# --- validation and admin guards -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role", "password", "scope"),
    [
        ("", "viewer", PW, None),               # empty name
        ("x" * 65, "viewer", PW, None),         # too long
        ("zhang san", "viewer", PW, None),      # whitespace
        ("zhang\x00", "viewer", PW, None),      # control char
        ("zhang\u200b", "viewer", PW, None),    # zero-width (format char)
        ("zhang", "root", PW, None),            # unknown role
        ("zhang", "viewer", "short", None),     # password < 8
        ("zhang", "viewer", PW, "99010"),       # 5 digits
        ("zhang", "viewer", PW, "9901011"),     # 7 digits
        ("zhang", "viewer", PW, "99010a"),      # not digits
        ("zhang", "viewer", PW, "９９０１０１"),  # full-width digits
        ("zhang", "admin", PW, "990101"),       # admins have no scope
    ],
)
def test_invalid_names_roles_passwords_scopes_rejected(tmp_path, name, role, password, scope):
    s = AccountStore(tmp_path)
    with pytest.raises(AuthError):
        s.add_or_update(name, role, password, scope=scope)
    assert not s.has_accounts()


def test_valid_scopes_update_and_last_admin_guard(tmp_path, clock):
    s = AccountStore(tmp_path, clock=clock)
    assert not s.has_accounts()
    s.add_or_update("boss", "admin", PW)
    s.add_or_update("jd", "viewer", PW, scope="990101001")  # 9-digit street
    assert s.add_or_update("jd", "analyst", None, scope="990101") == Account(
        "jd", "analyst", "990101")  # password=None keeps the password
    with pytest.raises(AuthError):
        s.add_or_update("new", "viewer", None)  # a new account needs a password
    with pytest.raises(AuthError):
        s.remove("boss")  # the last admin
    with pytest.raises(AuthError):
        s.add_or_update("boss", "viewer", None)  # demoting the last admin
    s.remove("jd")
    assert [a.name for a in s.list()] == ["boss"]
    with pytest.raises(AuthError):
        s.remove("jd")


def test_damaged_file_is_an_error_not_empty(tmp_path):
    (tmp_path / "accounts.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AuthError):
        AccountStore(tmp_path).has_accounts()


# --- OIDC ------------------------------------------------------------------------------------

MAPPING = {
    "users": {"Li@X.cn": {"role": "analyst", "scope": "990102"},
              "zhou@x.cn": {"scope": "990103001"}},
    "groups": {"staff": {"role": "viewer"},
               "ops": {"role": "analyst", "scope": "990101"},
               "it": {"role": "admin"}},
}


def test_oidc_role_from_claims():
    claims = {"email": "a@x.cn", "name": "甲", "gridboard_role": "analyst",
              "gridboard_scope": "990101"}
    assert roles_from_claims(claims, None) == Account("a@x.cn", "analyst", "990101")
    bad_scope = {**claims, "gridboard_scope": "12345"}
    assert roles_from_claims(bad_scope, None) is None  # never widened to "no scope"


def test_oidc_mapping_by_user_and_by_group(tmp_path):
    (tmp_path / "oidc_roles.json").write_text(json.dumps(MAPPING), encoding="utf-8")
    m = load_oidc_mapping(tmp_path)
    # By user (e-mail matched case-insensitively); the user's entry beats the groups'.
    assert roles_from_claims({"email": "li@x.cn", "groups": ["staff"]}, m) == Account(
        "li@x.cn", "analyst", "990102")
    # By group: the most privileged matching group.
    assert roles_from_claims({"email": "b@x.cn", "groups": ["staff", "ops"]}, m) == Account(
        "b@x.cn", "analyst", "990101")
    assert roles_from_claims({"email": "c@x.cn", "groups": ["ops", "it"]}, m) == Account(
        "c@x.cn", "admin", None)
    # A mapped user's scope wins over the group's.
    assert roles_from_claims({"email": "zhou@x.cn", "groups": ["ops"]}, m) == Account(
        "zhou@x.cn", "analyst", "990103001")


def test_oidc_unknown_user_gets_no_access(tmp_path):
    assert load_oidc_mapping(tmp_path) is None
    assert roles_from_claims({"email": "who@x.cn", "groups": ["other"]}, MAPPING) is None
    assert roles_from_claims({"email": "who@x.cn"}, None) is None
    # An unverified e-mail does not match a user entry.
    assert roles_from_claims({"email": "li@x.cn", "email_verified": False}, MAPPING) is None
    (tmp_path / "oidc_roles.json").write_text(
        json.dumps({"groups": {"g": {"role": "admin", "scope": "990101"}}}), encoding="utf-8")
    with pytest.raises(AuthError):
        load_oidc_mapping(tmp_path)
