"""One registry of settings. Units are in the names.

Defaults follow docs/contract/metrics.md; a deployment overrides them in
``<data dir>/settings.json`` (written by an admin on the 数据上传 page or by hand). Metric functions take a ``Settings``
argument instead of reading globals, so a test can pin every knob.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    # 问题解决: an order counts as responded in time within this many hours of reported_at.
    response_hours: float = 24.0
    # 综合得分 weights (响应率/解决率/满意率); they differ by city, so they are settings.
    w_response: float = 0.10
    w_resolve: float = 0.45
    w_satisfaction: float = 0.45
    # 红榜/黑榜 length.
    ranking_n: int = 3
    # A ranking chart with more units shows the first and last half of this many (a province's
    # district can hold hundreds of streets); the 明细 table always has every unit.
    ranking_chart_max_units: int = 30
    # Uploads.
    max_upload_mb: int = 100
    # A second ingest waits this long for the store lock, then fails clearly.
    lock_timeout_seconds: float = 60.0
    # Accounts.
    login_max_failures: int = 5
    lockout_minutes: int = 15
    viewers_must_login: bool = False
    # A login lasts this long (the session cookie's and the server-side record's lifetime).
    session_hours: float = 12.0
    # Presentation mode auto-advance interval (0 = off).
    slide_advance_seconds: int = 0
    # 督办与预警: behind the expected value by less than this many percentage points is 黄灯,
    # by this or more 红灯; 黄灯 this many periods running (this one included) turns 红灯.
    light_yellow_points: float = 5.0
    light_yellow_months_to_red: int = 3
    # 连续后进: on the 黑榜 or 红灯 this many periods running.
    lagging_months: int = 3
    # 督办通知: the 整改时限 is this many days after the notice's date.
    rectification_days: int = 15
    # Scheduled reports may be mailed through an intranet SMTP relay (empty host: not mailed).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = ""
    smtp_timeout_seconds: float = 30.0
    # 重点任务督办: a task not yet due counts as 临期 (and is on the 督办清单) when its due date
    # falls within this many days of the as_of date (due_on < date(as_of) + N).
    task_due_soon_days: int = 7
    # Query engine of the reports: "duckdb" (in-process, the default) or "spark" (Spark SQL over
    # the same Parquet store, on the cluster $GRIDBOARD_SPARK_URL names; see metrics/engine.py).
    engine: str = "duckdb"
    # At server start and after each publish, compute the reports a leader's first view asks
    # for (总览 and each page at city level for the latest month, the district ranking) in the
    # background, so that view comes from the caches (ui/warm.py).
    warm_cache_on_start: bool = True

    def score_weights(self) -> dict[str, float]:
        return {
            "w_response": self.w_response,
            "w_resolve": self.w_resolve,
            "w_satisfaction": self.w_satisfaction,
        }

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def issues_key(self) -> str:
        """The part of the settings that issue aggregates depend on."""
        return f"response_hours={float(self.response_hours)!r}"


SETTINGS_FILE = "settings.json"
# A deployment can demand a login of every visitor whatever settings.json says
# (``make run REQUIRE_LOGIN=1`` sets it).
REQUIRE_LOGIN_ENV = "GRIDBOARD_REQUIRE_LOGIN"
_TRUE = {"1", "true", "yes", "on"}
LABELS = {
    "response_hours": "及时响应时限(小时)",
    "w_response": "综合得分权重·响应率",
    "w_resolve": "综合得分权重·解决率",
    "w_satisfaction": "综合得分权重·满意率",
    "ranking_n": "红黑榜数量",
    "ranking_chart_max_units": "排名图最多显示单位数",
    "max_upload_mb": "上传文件大小上限(MB)",
    "lock_timeout_seconds": "数据写入锁等待(秒)",
    "login_max_failures": "登录失败锁定次数",
    "lockout_minutes": "锁定时长(分钟)",
    "viewers_must_login": "浏览者须登录",
    "session_hours": "登录有效期(小时)",
    "slide_advance_seconds": "演示自动翻页间隔(秒)",
    "light_yellow_points": "黄灯阈值(落后百分点)",
    "light_yellow_months_to_red": "连续黄灯转红灯(期)",
    "lagging_months": "连续后进认定(期)",
    "rectification_days": "督办整改时限(天)",
    "smtp_host": "邮件中继服务器(内网SMTP)",
    "smtp_port": "邮件中继端口",
    "smtp_sender": "发件人地址",
    "smtp_timeout_seconds": "邮件发送超时(秒)",
    "task_due_soon_days": "重点任务临期天数(天)",
    "engine": "查询引擎",
    "warm_cache_on_start": "启动及发布后预先计算首页报表",
}


def load_settings(data_dir: Path | None) -> Settings:
    """Defaults, overridden by ``settings.json`` in the data dir when it exists.

    Unknown keys are ignored, so an older product reads a newer file.
    """
    if data_dir is None:
        return Settings()
    path = Path(data_dir) / SETTINGS_FILE
    if not path.exists():
        return Settings()
    raw = json.loads(path.read_text(encoding="utf-8"))
    fields = {f.name: f.type for f in dataclasses.fields(Settings)}
    kwargs = {k: v for k, v in raw.items() if k in fields}
    return Settings(**kwargs)


def login_required_by_env(environ: dict | None = None) -> bool:
    env = os.environ if environ is None else environ
    return str(env.get(REQUIRE_LOGIN_ENV, "")).strip().lower() in _TRUE


def viewers_must_login(settings: Settings, environ: dict | None = None) -> bool:
    """The admin setting, or the deployment's environment variable (which an admin cannot
    switch off from the UI)."""
    return bool(settings.viewers_must_login) or login_required_by_env(environ)


def save_settings(data_dir: Path, settings: Settings) -> None:
    path = Path(data_dir) / SETTINGS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(settings.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
