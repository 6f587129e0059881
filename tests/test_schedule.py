"""Scheduled 周报/月报: files once per period, a failed run logged and retried, mail through a
relay (a local SMTP server in the test), schedules validated and kept in the data dir."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from metrics import schedule as SCH
from metrics.settings import Settings
from tests import fixtures as F

NOV_2 = dt.datetime(2026, 11, 2, 7, 0)


@pytest.fixture
def store(tmp_path):
    return F.build_store(tmp_path / "d", F.city_frames())


def _add(store, **kw):
    base = dict(id="monthly-city", name="全市月报", frequency="monthly", formats=("xlsx", "pdf"))
    base.update(kw)
    SCH.save_schedules(store.root, SCH.load_schedules(store.root) + [SCH.Schedule(**base)])


def test_monthly_run_writes_the_files_once_per_period(store, tmp_path):
    _add(store)
    first = SCH.run(store, Settings(), now=NOV_2)
    assert [(r.status, r.period) for r in first] == [("written", "2026-10")]
    folder = store.root / "outbox" / "monthly-city" / "2026-10"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["全市月报推进会_2026-10.pdf", "全市月报通报表_2026-10.xlsx"]
    assert (folder / names[0]).read_bytes().startswith(b"%PDF")
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    again = SCH.run(store, Settings(), now=NOV_2 + dt.timedelta(days=3))
    assert [r.status for r in again] == ["skipped"]
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes
    log = [json.loads(x) for x in (store.root / "schedule.log").read_text().splitlines()]
    assert [x["status"] for x in log] == ["written"]


def test_monthly_run_reports_the_newest_month_when_extracts_are_late(store):
    # The fixture city's newest month is 2026-11: a run in February reports November, once.
    _add(store, formats=("xlsx",))
    feb = dt.datetime(2027, 2, 1, 7, 0)
    assert [(r.status, r.period) for r in SCH.run(store, Settings(), now=feb)] == [("written", "2026-11")]
    assert [r.status for r in SCH.run(store, Settings(), now=feb + dt.timedelta(days=30))] == ["skipped"]


def test_weekly_run_is_keyed_by_iso_week(store):
    _add(store, id="weekly", name="全市周报", frequency="weekly", formats=("xlsx",))
    assert [r.period for r in SCH.run(store, Settings(), now=dt.datetime(2026, 11, 30))] == ["2026-W49"]
    assert [r.status for r in SCH.run(store, Settings(), now=dt.datetime(2026, 12, 6))] == ["skipped"]
    assert [(r.status, r.period) for r in SCH.run(store, Settings(), now=dt.datetime(2026, 12, 7))] == [
        ("written", "2026-W50")]


def test_failed_run_is_logged_and_retried_next_time(store, monkeypatch):
    _add(store)
    real = SCH.exports.build
    calls = {"n": 0}

    def flaky(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("磁盘已满")
        return real(*a, **kw)

    monkeypatch.setattr(SCH.exports, "build", flaky)
    failed = SCH.run(store, Settings(), now=NOV_2)
    assert [(r.status, r.message) for r in failed] == [("failed", "磁盘已满")]
    # Nothing half-written is visible, and the state does not record the period.
    assert not (store.root / "outbox" / "monthly-city" / "2026-10").exists()
    retried = SCH.run(store, Settings(), now=NOV_2 + dt.timedelta(hours=1))
    assert [r.status for r in retried] == ["written"]
    log = [json.loads(x) for x in (store.root / "schedule.log").read_text().splitlines()]
    assert [x["status"] for x in log] == ["failed", "written"] and log[0]["message"] == "磁盘已满"


class _SMTP(threading.Thread):
    """A one-connection SMTP server on 127.0.0.1 that records the message it is sent."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.data = b""
        self.rcpt: list[bytes] = []

    def run(self) -> None:
        conn, _ = self.sock.accept()
        f = conn.makefile("rb")
        conn.sendall(b"220 relay\r\n")
        while True:
            line = f.readline()
            if not line:
                break
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                conn.sendall(b"250 relay\r\n")
            elif cmd.startswith(b"RCPT"):
                self.rcpt.append(line.strip())
                conn.sendall(b"250 ok\r\n")
            elif cmd == b"DATA":
                conn.sendall(b"354 go\r\n")
                while (chunk := f.readline()) not in (b".\r\n", b""):
                    self.data += chunk
                conn.sendall(b"250 queued\r\n")
            elif cmd == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                break
            else:
                conn.sendall(b"250 ok\r\n")
        conn.close()
        self.sock.close()


def test_mailed_through_the_relay_with_the_files_attached(store):
    relay = _SMTP()
    relay.start()
    _add(store, formats=("xlsx",), recipients=("zuzhibu@example.gov",))
    settings = Settings(smtp_host="127.0.0.1", smtp_port=relay.port, smtp_sender="gb@example.gov",
                        smtp_timeout_seconds=5)
    out = SCH.run(store, settings, now=NOV_2)
    relay.join(5)
    assert [r.status for r in out] == ["mailed"]
    assert [r.upper() for r in relay.rcpt] == [b"RCPT TO:<ZUZHIBU@EXAMPLE.GOV>"]
    assert b"filename*=utf-8''" in relay.data or "通报表".encode() in relay.data or b"=?utf-8?" in relay.data
    assert [r.status for r in SCH.run(store, settings, now=NOV_2)] == ["skipped"]


def test_mail_failure_is_retried_without_rewriting_the_files(store):
    _add(store, formats=("xlsx",), recipients=("a@example.gov",))
    settings = Settings(smtp_host="relay.invalid", smtp_timeout_seconds=1)
    sent = []

    def refuse(*a):
        raise OSError("中继拒绝连接")

    assert [r.status for r in SCH.run(store, settings, now=NOV_2, send=refuse)] == ["failed"]
    # The files were complete before the mail failed… but nothing was recorded: written again.
    assert [r.status for r in SCH.run(store, settings, now=NOV_2, send=lambda *a: sent.append(a))] == ["mailed"]
    assert len(sent) == 1 and [p.name for p in sent[0][4]] == ["全市月报通报表_2026-10.xlsx"]


def test_schedules_are_validated():
    with pytest.raises(SCH.ScheduleError, match="计划编号"):
        SCH.Schedule(id="../x", name="n", frequency="monthly")
    with pytest.raises(SCH.ScheduleError, match="频率"):
        SCH.Schedule(id="a", name="n", frequency="daily")
    with pytest.raises(SCH.ScheduleError, match="文件类型"):
        SCH.Schedule(id="a", name="n", frequency="monthly", formats=("exe",))
    with pytest.raises(SCH.ScheduleError, match="收件人"):
        SCH.Schedule(id="a", name="n", frequency="monthly", recipients=("not-an-address",))


def test_cli_add_list_run(store):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "metrics", *args, "--data-dir", str(store.root)],
                              capture_output=True, text=True, cwd=Path(__file__).parents[1])

    r = cli("schedule", "add", "m1", "--name", "甲区月报", "--unit", F.D_A, "--level", "street",
            "--formats", "docx,xlsx")
    assert r.returncode == 0, r.stderr
    listed = cli("schedule", "list")
    assert json.loads(listed.stdout)["unit"] == F.D_A
    run = cli("schedule", "run", "--now", "2026-11-02T07:00:00")
    assert run.returncode == 0, run.stderr
    res = json.loads(run.stdout)
    assert res["status"] == "written" and sorted(res["files"]) == [
        "甲区月报督办通知_2026-10.docx", "甲区月报通报表_2026-10.xlsx"]
    bad = cli("schedule", "add", "x", "--formats", "exe")
    assert bad.returncode == 2 and "文件类型" in bad.stderr


def test_recipients_without_a_relay_are_written_and_say_why_not_mailed(store):
    _add(store, formats=("xlsx",), recipients=("a@example.gov",))
    out = SCH.run(store, Settings(), now=NOV_2)
    assert [r.status for r in out] == ["written"] and "smtp_host" in out[0].message
