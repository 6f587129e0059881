"""Scheduled 周报/月报: files written into an outbox (and optionally mailed), once per period.

Schedules live in the data dir (``schedules.json``, edited on the admin page or with
``python -m metrics schedule add/remove``); ``python -m metrics schedule run`` — from cron or a
systemd timer — does every schedule that is due:

* the period of a run: a monthly 月报 reports the last complete month before the run (a run on
  2 November reports October), or the newest month the data covers if the extracts are older,
  keyed ``2026-10``; a weekly 周报 reports the default month to date (the newest the data
  covers, as every page does), keyed by the ISO week of the run (``2026-W49``);
* idempotent per period: ``schedule_state.json`` records what each (schedule, period) wrote
  and whether it was mailed; a second run in the same period does nothing, a run after new data
  arrives in a new period writes the new period's files;
* crash and failure semantics: the files of a period are written into a hidden folder that is
  renamed into place only when every file is there, so the outbox never shows half a period;
  a failure (an export error, the relay refusing mail) is logged to ``schedule.log`` (one
  JSON line per attempt) and leaves the state unrecorded, so the next run tries again; files
  already written are not rewritten when only the mail failed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import smtplib
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path

from metrics.exports import build as exports
from metrics.selection import LEVELS, Selection, index_of, month_str
from metrics.settings import Settings
from metrics.store.versions import Store

SCHEDULES_FILE = "schedules.json"
STATE_FILE = "schedule_state.json"
LOG_FILE = "schedule.log"
OUTBOX = "outbox"
FREQUENCIES = {"weekly": "周报", "monthly": "月报"}
FORMATS = ("pptx", "xlsx", "pdf", "docx")
FORMAT_LABELS = {"pptx": "推进会PPT", "xlsx": "通报表", "pdf": "推进会PDF", "docx": "督办通知"}
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class ScheduleError(ValueError):
    """A schedule that cannot be kept (message in Chinese)."""


@dataclass(frozen=True)
class Schedule:
    id: str  # folder name in the outbox: letters, digits, - and _
    name: str  # 全市月报
    frequency: str  # weekly | monthly
    formats: tuple[str, ...] = ("pptx", "xlsx", "pdf")
    level: str = "district"
    unit: str | None = None
    recipients: tuple[str, ...] = ()
    enabled: bool = True

    def __post_init__(self) -> None:
        if not _ID.match(self.id or ""):
            raise ScheduleError(f"计划编号只能用字母、数字、- 和 _(1–40 个)：{self.id!r}")
        if not (self.name or "").strip():
            raise ScheduleError("计划名称不能为空")
        if self.frequency not in FREQUENCIES:
            raise ScheduleError(f"频率应为 {'/'.join(FREQUENCIES)}：{self.frequency!r}")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise ScheduleError(f"文件类型应为 {'/'.join(FORMATS)} 中的一种或几种：{','.join(bad)}")
        if self.level not in LEVELS:
            raise ScheduleError(f"层级应为 {'/'.join(LEVELS)}：{self.level!r}")
        for r in self.recipients:
            if not _EMAIL.match(r):
                raise ScheduleError(f"收件人地址无效：{r!r}")
        Selection.make(self.level, unit=self.unit)  # validates the unit code

    @staticmethod
    def from_dict(d: dict) -> Schedule:
        return Schedule(id=str(d.get("id", "")), name=str(d.get("name", "")),
                        frequency=str(d.get("frequency", "")),
                        formats=tuple(d.get("formats") or ()), level=str(d.get("level", "district")),
                        unit=d.get("unit") or None, recipients=tuple(d.get("recipients") or ()),
                        enabled=bool(d.get("enabled", True)))

    def as_dict(self) -> dict:
        d = asdict(self)
        d["formats"], d["recipients"] = list(self.formats), list(self.recipients)
        return d


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    tmp.replace(path)


def load_schedules(data_dir: Path) -> list[Schedule]:
    path = Path(data_dir) / SCHEDULES_FILE
    if not path.exists():
        return []
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [Schedule.from_dict(d) for d in raw.get("schedules", [])]


def save_schedules(data_dir: Path, schedules: list[Schedule]) -> None:
    ids = [s.id for s in schedules]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ScheduleError(f"计划编号重复：{'、'.join(dup)}")
    _write_json(Path(data_dir) / SCHEDULES_FILE, {"schedules": [s.as_dict() for s in schedules]})


def period_of(schedule: Schedule, now: dt.datetime, default_month: int) -> tuple[str, Selection]:
    """(period key, selection) of a run at ``now``; ``default_month`` is the newest month the
    data covers (``registry.default_month``)."""
    if schedule.frequency == "monthly":
        month = month_str(min(default_month, index_of(now) - 1))
        return month, Selection.make(schedule.level, period=month, unit=schedule.unit)
    sel = Selection.make(schedule.level, period=month_str(default_month), unit=schedule.unit)
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}", sel


@dataclass
class RunResult:
    schedule: str
    period: str
    status: str  # written | skipped | mailed | failed
    files: list[str] = field(default_factory=list)
    message: str = ""


def _log(data_dir: Path, entry: dict) -> None:
    with open(Path(data_dir) / LOG_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _load_state(data_dir: Path) -> dict:
    path = Path(data_dir) / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def smtp_send(settings: Settings, recipients: tuple[str, ...], subject: str, body: str,
              files: list[Path]) -> None:
    """Mail the files through the configured intranet relay (plain SMTP, no login: relays on
    a government intranet accept by address)."""
    msg = EmailMessage()
    msg["From"] = settings.smtp_sender or "gridboard@localhost"
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg.set_content(body)
    for p in files:
        msg.add_attachment(p.read_bytes(), maintype="application", subtype="octet-stream",
                           filename=p.name)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                      timeout=settings.smtp_timeout_seconds) as s:
        s.send_message(msg)


Sender = Callable[[Settings, tuple[str, ...], str, str, list[Path]], None]


def run(store: Store, settings: Settings, *, now: dt.datetime | None = None,
        outbox: Path | None = None, only: str | None = None, send: Sender = smtp_send
        ) -> list[RunResult]:
    """Every enabled schedule (or ``only`` that one) for the period of ``now``."""
    from metrics.db import connect
    from metrics.domains import registry

    now = now or dt.datetime.now()
    data_dir = store.root
    outbox = Path(outbox) if outbox else data_dir / OUTBOX
    schedules = [s for s in load_schedules(data_dir) if s.enabled and (only is None or s.id == only)]
    if only is not None and not schedules:
        raise ScheduleError(f"没有启用的计划：{only}")
    con = connect(store, settings)
    try:
        month = registry.default_month(con)
    finally:
        con.close()
    results = []
    for sch in schedules:
        if month is None:
            results.append(RunResult(sch.id, "", "failed", message="没有数据，无法生成报告"))
            _log(data_dir, {"time": now.isoformat(timespec="seconds"), "schedule": sch.id,
                            "status": "failed", "message": "没有数据"})
            continue
        key, sel = period_of(sch, now, month)
        results.append(_run_one(store, settings, sch, key, sel, now, outbox, send))
    return results


def _run_one(store: Store, settings: Settings, sch: Schedule, key: str, sel: Selection,
             now: dt.datetime, outbox: Path, send: Sender) -> RunResult:
    data_dir = store.root
    state = _load_state(data_dir)
    done = state.get(sch.id, {}).get(key)
    target = outbox / sch.id / key
    want_mail = bool(sch.recipients) and bool(settings.smtp_host)
    stamp = now.isoformat(timespec="seconds")
    try:
        if done and target.is_dir() and (done.get("mailed") or not want_mail):
            return RunResult(sch.id, key, "skipped", done.get("files", []), "本期已生成")
        if done and target.is_dir():
            files = [target / f for f in done["files"]]
        else:
            files = _write_files(store, settings, sch, sel, target)
        mailed = False
        if want_mail:
            label = f"{sch.name}（{key}）"
            send(settings, sch.recipients, f"网格治理看板 {label}",
                 f"{label}见附件：{'、'.join(p.name for p in files)}。", files)
            mailed = True
        state = _load_state(data_dir)  # re-read: another run may have recorded meanwhile
        state.setdefault(sch.id, {})[key] = {"files": [p.name for p in files],
                                             "generated_at": stamp, "mailed": mailed}
        _write_json(data_dir / STATE_FILE, state)
        status = "mailed" if mailed else "written"
        _log(data_dir, {"time": stamp, "schedule": sch.id, "period": key, "status": status,
                        "files": [p.name for p in files]})
        note = "有收件人但未设置邮件中继(smtp_host)，仅写入发件箱" if sch.recipients and not mailed else ""
        return RunResult(sch.id, key, status, [p.name for p in files], note)
    except Exception as e:  # a failed run is logged and retried on the next
        message = str(e) or type(e).__name__
        _log(data_dir, {"time": stamp, "schedule": sch.id, "period": key, "status": "failed",
                        "message": message, "trace": traceback.format_exc(limit=3)})
        return RunResult(sch.id, key, "failed", message=message)


def _write_files(store: Store, settings: Settings, sch: Schedule, sel: Selection,
                 target: Path) -> list[Path]:
    staging = target.parent / f".{target.name}.{os.getpid()}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    names = []
    unit = sch.name
    for kind in sch.formats:
        data = exports.build(store, settings, kind, sel)
        name = exports.filename(kind, unit, target.name)
        (staging / name).write_bytes(data)
        names.append(name)
    if target.exists():  # an earlier, unrecorded attempt: replace it whole
        shutil.rmtree(target)
    staging.rename(target)
    return [target / n for n in names]


def recent_log(data_dir: Path, *, limit: int = 50) -> list[dict]:
    """The newest ``limit`` log entries, newest first (for the admin page)."""
    path = Path(data_dir) / LOG_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[-limit:]
    return [json.loads(x) for x in reversed(lines) if x.strip()]
