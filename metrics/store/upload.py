"""The logic behind 数据上传: check a file, say what publishing would change, publish, roll back.

Kept apart from the page so it can be tested without a browser. Nothing here writes to the
store except ``publish_upload``, ``rollback`` and ``save_boundaries``, each under the store lock.
A file that fails its check leaves the store exactly as it was (one audit line at most).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from metrics.contract import schema as S
from metrics.contract.readers import ReadError, header_scores, read_extract
from metrics.contract.validate import Problem, reason_kind
from metrics.db import select_typed, sql_literal_path
from metrics.exports.xlsx import error_report_xlsx
from metrics.settings import Settings
from metrics.store.ingest import (
    Prepared,
    Rejected,
    Source,
    changes,
    prepare,
    publish,
)
from metrics.store.ingest import (
    audit_rejection as audit_rejected_source,
)
from metrics.store.versions import Store, write_atomic

log = logging.getLogger(__name__)
TABLE_NAMES = list(S.TABLES)
DEFAULT_TABLE = "issues"  # what analysts upload most often (every month, often every week)
UPLOAD_ORDER = [DEFAULT_TABLE, *(t for t in TABLE_NAMES if t != DEFAULT_TABLE)]
ACCEPTED_TYPES = ["csv", "txt", "xlsx", "xlsm", "xls", "parquet"]
PREVIEW_ROWS = 20
ERRORS_SHOWN = 10_000  # rows of the on-page error table; the XLSX report has them all
REPORT_FULL_ROWS = 50_000  # above this the report's raw sheet keeps only the rows with problems
MODE_LABELS = {"upsert": "按主键更新", "replace_periods": "按月份替换", "replace": "替换整表"}
BOUNDARIES = "boundaries.geojson"
BOUNDARIES_PREV = "boundaries.prev.geojson"
MAX_BOUNDARIES_MB = 50

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md(text: object) -> str:
    """User-supplied text (file names, headers) made inert for st.markdown: no links, images,
    HTML, LaTeX or emphasis can come out of it."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", s)


def table_label(name: str) -> str:
    return S.TABLES[name].label


def size_text(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} KB"
    return f"{n} 字节"


def upload_limit_mb(settings: Settings, server_cap_mb: int | None = None) -> int:
    """The effective limit: the setting, but never above what the server accepts at all."""
    limit = int(settings.max_upload_mb)
    return min(limit, int(server_cap_mb)) if server_cap_mb else limit


def too_big(size: int, limit_mb: int) -> str | None:
    if size > int(limit_mb) * (1 << 20):
        return (f"文件大小 {size_text(size)}，超过上传上限 {limit_mb} MB。"
                "请按月份或区县拆分后分别上传(管理员可在“系统设置”中调整上限)。")
    return None


def columns_frame(table: str) -> pd.DataFrame:
    """The table's columns for the 字段说明 panel."""
    rows = []
    for c in S.TABLES[table].columns:
        rows.append({"列名": c.label, "也可写作": "、".join((c.name, *c.aliases)),
                     "类型": S.KIND_LABELS[c.kind], "必填": "是" if c.required else "否",
                     "规则": c.rule or ("可选：" + "、".join(c.enum) if c.enum else "")})
    return pd.DataFrame(rows)


# --- checking a file ---------------------------------------------------------------------------


@dataclass
class CheckResult:
    """What the page shows about one uploaded file (everything needed, nothing heavy)."""

    table: str
    file_name: str  # as given by the browser
    safe_name: str
    sha256: str
    size: int
    replace: bool
    signature: tuple  # store.signature() the check was made against
    status: str  # "ok" | "rejected" | "unreadable"
    message: str = ""
    fmt: str = ""
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    mapping: dict = field(default_factory=dict)  # header in file → column
    ignored: list = field(default_factory=list)
    dropped_pii: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # Problem
    warnings: list = field(default_factory=list)  # Problem
    truncated: bool = False
    rows: int = 0
    preview: pd.DataFrame | None = None
    changes: dict | None = None
    scope_problems: list = field(default_factory=list)

    @property
    def publishable(self) -> bool:
        return self.status == "ok" and not self.scope_problems


def check_upload(store: Store, table: str, file_name: str, content: bytes, *, replace: bool,
                 scope: str | None = None) -> CheckResult:
    """Read and validate the file against the current store and say what publishing it would
    change. Writes nothing to the store."""
    source = Source(file_name, content=content)
    res = CheckResult(table=table, file_name=file_name, safe_name=source.safe_name,
                      sha256=source.sha256(), size=len(content), replace=replace,
                      signature=store.signature(), status="ok")
    try:
        return _check(store, table, source, content, res, scope)
    except Exception:  # a bug in reading/validation must not become a traceback on the page
        log.exception("checking upload %r as %s failed", res.safe_name, table)
        res.status = "unreadable"
        res.message = ("校验这个文件时程序出错(已记入服务器日志)。请检查文件是否为规范的表格，"
                       "例如表头是否重复、数值是否过大；问题仍在请联系管理员")
        return res


def _check(store: Store, table: str, source: Source, content: bytes, res: CheckResult,
           scope: str | None) -> CheckResult:
    file_name = source.file_name
    replace = res.replace
    with tempfile.TemporaryDirectory(prefix="gridboard-check-") as work:
        try:
            prepared = prepare(store, table, source, replace=replace, workdir=Path(work))
        except Rejected as r:
            if r.report is None:
                res.status, res.message = "unreadable", r.message
                return res
            res.status, res.message = "rejected", r.message
            _take_report(res, r.report)
            res.rows = len(r.report.rows)
            res.preview = _raw_preview(content, file_name, table)
            return res
        _take_report(res, prepared.checked)
        res.rows = prepared.row_count
        res.preview = stored_preview(prepared.checked.frame.head(PREVIEW_ROWS),
                                     prepared.checked.rows.iloc[:PREVIEW_ROWS], table)
        res.changes = changes(store, prepared, replace=replace)
        if scope:
            res.scope_problems = scope_problems(store, prepared, scope, replace=replace)
    return res


def _take_report(res: CheckResult, checked) -> None:
    res.fmt, res.encoding, res.sheet = checked.fmt, checked.encoding, checked.sheet
    res.header_row = checked.header_row
    res.mapping = dict(checked.mapping)
    res.ignored = list(checked.ignored)
    res.dropped_pii = list(checked.dropped_pii)
    res.errors = list(checked.errors)
    res.warnings = list(checked.warnings)
    res.truncated = bool(checked.truncated)


def _raw_preview(content: bytes, file_name: str, table: str) -> pd.DataFrame | None:
    """The first rows as read from the file (for a rejected file), personal data left out."""
    try:
        raw = read_extract(content, file_name, S.TABLES[table])
    except ReadError:
        return None
    data = raw.data.head(PREVIEW_ROWS)
    data = data[[c for c in data.columns if not S.is_pii_header(c)]].copy()
    data = data.astype(object).where(data.notna(), None).map(
        lambda v: "" if v is None else str(v))
    data.insert(0, "行号", raw.rows.iloc[:PREVIEW_ROWS].to_numpy())
    return data


def stored_preview(frame: pd.DataFrame, rows: pd.Series, table: str) -> pd.DataFrame:
    """Typed rows as they will be stored, with Chinese headers and readable values."""
    t = S.TABLES[table]
    out = pd.DataFrame({"行号": rows.to_numpy()})
    for c in t.columns:
        v = frame[c.name].reset_index(drop=True)
        if c.kind == S.MONTH:
            v = v.dt.strftime("%Y-%m")
        elif c.kind == S.DATE:
            v = v.dt.strftime("%Y-%m-%d")
        elif c.kind == S.DATETIME:
            v = v.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif c.kind == S.BOOL:
            v = v.map({True: "是", False: "否"})
        elif c.kind == S.RATE:
            v = v.map(lambda x: None if pd.isna(x) else f"{x:.2%}")
        elif c.name == "level" or (c.kind == S.ENUM and c.name == "metric"):
            labels = S.LEVEL_LABELS if c.name == "level" else S.RATE_METRIC_LABELS
            v = v.map(lambda x, lab=labels: lab.get(x, x) if isinstance(x, str) else x)
        out[c.label] = v.astype(object).where(v.notna(), "").to_numpy()
    return out


def mapping_frame(res: CheckResult) -> pd.DataFrame:
    """One row per contract column: which column of the file fills it (or what happens
    when none does)."""
    t = S.TABLES[res.table]
    header_of = {v: k for k, v in res.mapping.items()}
    rows = []
    for c in t.columns:
        h = header_of.get(c.name)
        if h is not None:
            state = "已识别"
        elif c.required:
            state = "缺少(必填)"
        elif c.default is not None:
            state = f"未提供，按默认值“{_default_text(c.default)}”"
        else:
            state = "未提供，留空"
        rows.append({"字段": c.label, "字段名": c.name, "文件中的列": h or "—", "状态": state})
    return pd.DataFrame(rows)


def _default_text(v: object) -> str:
    if v is True:
        return "是"
    if v is False:
        return "否"
    return str(v)


def problems_frame(problems: list[Problem], limit: int | None = None) -> pd.DataFrame:
    shown = problems[:limit] if limit else problems
    return pd.DataFrame({
        "行号": pd.array([p.row for p in shown], dtype="Int64"),
        "列": [p.column for p in shown],
        "值": [p.value for p in shown],
        "原因": [p.reason for p in shown],
    })


def header_row_text(res: CheckResult) -> str:
    """Where row numbers count from, as found in this file (a title row above the header moves
    the header down; Parquet has no header row)."""
    if res.fmt == "parquet":
        return "行号为记录序号(Parquet 文件没有表头行，第一条记录为第 1 行)"
    row = res.header_row or 1
    return f"行号为文件中的行号，表头在第 {row} 行"


# On-page problem tables: the 原因 column is this wide (pixels) and its text wraps onto more
# lines once a row is taller than Streamlit's wrapping threshold (4rem).
REASON_WIDTH_PX = 420
REASON_CHARS_PER_LINE = 26  # CJK characters of 14 px in REASON_WIDTH_PX, with padding
LINE_PX, MAX_LINES = 24, 5


def problems_row_height(problems: list[Problem]) -> int | None:
    """A row height that shows every reason whole (None: one line is enough). Two lines or
    more are always above Streamlit's wrapping threshold of 64 px."""
    longest = max((len(p.reason) for p in problems), default=0)
    lines = min(MAX_LINES, -(-longest // REASON_CHARS_PER_LINE))
    return LINE_PX * (lines + 1) if lines > 1 else None


def suggest_table(content: bytes, file_name: str, chosen: str) -> str | None:
    """The table whose columns the file's headers name best, when that is not ``chosen``
    (None when ``chosen`` fits as well as any, or nothing fits two columns)."""
    try:
        scores = header_scores(content, file_name)
    except Exception:  # a hint only: a file this cannot read is reported by the check itself
        log.exception("guessing the table of %r", file_name)
        return None
    best = max(scores, key=lambda t: (scores[t], t == chosen))
    if best == chosen or scores[best] < 2 or scores[best] <= scores.get(chosen, 0):
        return None
    return best


def reason_counts(problems: list[Problem]) -> pd.DataFrame:
    # A duplicate names its rows in its reason; counted by what is wrong, not where.
    counts = Counter(reason_kind(p.reason) for p in problems)
    return pd.DataFrame(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
                        columns=["原因", "处数"])


def error_report(problems: list[Problem], content: bytes, file_name: str, table: str) -> bytes:
    """The downloadable report: every problem, the count by reason, and the file's rows with
    the bad cells highlighted (only the bad rows when the file is very large)."""
    raw_rows = None
    try:
        raw = read_extract(content, file_name, S.TABLES[table])
        raw_rows = raw.data.set_index(pd.Index(raw.rows.to_numpy(), name="行号"))
        if len(raw_rows) > REPORT_FULL_ROWS:
            bad = {p.row for p in problems if p.row is not None}
            raw_rows = raw_rows[raw_rows.index.isin(bad)]
    except Exception:  # the list of problems is still worth having without the raw sheet
        log.exception("raw rows for the error report of %r", file_name)
        raw_rows = None
    return error_report_xlsx([p.as_dict() for p in problems], raw_rows)


def report_name(file_name: str) -> str:
    stem = Path(Source(file_name).safe_name).stem or "上传文件"
    return f"{stem}_错误报告.xlsx"


# --- scope ---------------------------------------------------------------------------------------

# The unit a row belongs to, as SQL over the table's own columns (projects: through pairings).
_UNIT_SQL = {
    "units": "code",
    "organizations": "community_code",
    "issues": "community_code",
    "pairings": "community_code",
    "checkins": "community_code",
    "targets": "coalesce(unit_code, '')",
    "grids": "grid_code",
    "compounds": "community_code",
    "tasks": "coalesce(unit_code, '')",  # a whole-city task belongs to no scoped account
    "projects": "coalesce((SELECT p.community_code FROM pairings_ref p "
                "WHERE p.pairing_id = {alias}.pairing_id), '')",
}


def scope_problems(store: Store, prepared: Prepared, scope: str, *, replace: bool) -> list[str]:
    """Why an account limited to ``scope`` may not publish this file (empty: it may).

    A scoped analyst may publish rows of units under the scope only, and only changes that
    leave the stored rows of every other unit as they are.
    """
    table = prepared.table
    if replace:
        return [f"“替换整表”会删除范围({scope})以外单位的数据，限定范围的账户不能使用。"]
    con = duckdb.connect()
    try:
        if prepared.staged is not None:
            src = f"read_parquet({sql_literal_path(prepared.staged)})"
        else:
            con.register("incoming_frame", prepared.checked.frame)
            src = "incoming_frame"
        con.execute(f"CREATE TEMP TABLE incoming AS {select_typed(table, src)}")
        pairings = store.current_data("pairings")
        if pairings is not None:
            con.execute(f"CREATE VIEW pairings_ref AS SELECT pairing_id, community_code FROM "
                        f"read_parquet({sql_literal_path(pairings)})")
        else:
            con.execute("CREATE TABLE pairings_ref (pairing_id VARCHAR, community_code VARCHAR)")
        unit_in = _UNIT_SQL[table.name].format(alias="i")
        out: list[str] = []
        n, examples = con.execute(
            f"SELECT count(*), list(DISTINCT u)[:5] FROM (SELECT {unit_in} AS u FROM incoming i) "
            f"WHERE NOT starts_with(u, $s)", {"s": scope}).fetchone()
        if n:
            shown = "、".join(e or "(全市)" for e in examples)
            out.append(f"文件中有 {n} 行不属于您的范围({scope})，例如 {shown}。")
        old = store.current_data(table.name)
        if old is not None:
            con.execute(f"CREATE VIEW stored AS SELECT * FROM read_parquet({sql_literal_path(old)})")
            unit_st = _UNIT_SQL[table.name].format(alias="s")
            if table.merge == "replace_periods":
                hit = "s.period IN (SELECT DISTINCT period FROM incoming)"
            else:
                keys = " AND ".join(f'i."{k}" IS NOT DISTINCT FROM s."{k}"' for k in table.key)
                hit = f"EXISTS (SELECT 1 FROM incoming i WHERE {keys})"
            m = con.execute(f"SELECT count(*) FROM stored s WHERE {hit} AND NOT starts_with("
                            f"{unit_st}, $s)", {"s": scope}).fetchone()[0]
            if m:
                out.append(f"发布会改动或删除 {m} 行范围({scope})以外单位的已有数据。")
        if out:
            out.append("限定范围的账户只能发布本范围内单位的数据；全市数据请由不限范围的数据分析员上传。")
        return out
    finally:
        con.close()


# --- publishing ------------------------------------------------------------------------------


class StaleCheck(Exception):
    """The store changed after the file was checked; the analyst must look again."""


class OutOfScope(Exception):
    """A scoped account tried to publish rows (or changes) outside its scope."""


def publish_upload(store: Store, settings: Settings, table: str, file_name: str, content: bytes,
                   *, replace: bool, user: str, scope: str | None = None,
                   expected_signature: tuple | None = None) -> dict:
    """Check the file again under the lock (references may have changed) and publish it.

    Raises ``Rejected`` (nothing changed), ``StaleCheck`` (someone published since the check;
    nothing changed), ``StoreBusy`` (lock not obtained) or ``OutOfScope``.
    """
    source = Source(file_name, content=content)
    with store.lock(settings.lock_timeout_seconds), tempfile.TemporaryDirectory(
        prefix="gridboard-upload-"
    ) as work:
        if expected_signature is not None and tuple(store.signature()) != tuple(expected_signature):
            raise StaleCheck("在您核对之后，数据已被其他人更新。请重新核对将要发生的变更后再发布。")
        try:
            prepared = prepare(store, table, source, replace=replace, workdir=Path(work))
        except Rejected as r:
            audit_rejected_source(store, table, source, user, r)
            raise
        if scope:
            problems = scope_problems(store, prepared, scope, replace=replace)
            if problems:
                raise OutOfScope("\n".join(problems))
        return publish(store, prepared, user=user, settings=settings, replace=replace)


def audit_rejection(store: Store, res: CheckResult, user: str) -> None:
    store.audit({"event": "rejected", "table": res.table, "user": user,
                 "file_name": res.safe_name, "sha256": res.sha256,
                 "errors": len(res.errors) or 1, "message": res.message})


# --- versions --------------------------------------------------------------------------------


def versions_frame(store: Store, table: str, *, with_warnings: bool = True) -> pd.DataFrame:
    rows = []
    for v in reversed(store.versions(table)):
        rows.append({
            "版本": v["version"],
            "当前": "✔" if v["current"] else "",
            "时间": str(v.get("created_at", "")).replace("T", " "),
            "上传人": v.get("user", ""),
            "文件": v.get("file_name", ""),
            "行数": v.get("rows"),
            "新增": v.get("inserted"),
            "更新": v.get("updated"),
            "删除": v.get("removed", 0),
            "警告": v.get("warning_count", 0),
            "方式": MODE_LABELS.get(v.get("mode", ""), v.get("mode", "")),
            "涉及月份": "、".join(v.get("periods") or []),
        })
    return pd.DataFrame(rows)


def previous_version(store: Store, table: str, version: str) -> str | None:
    ids = [v["version"] for v in store.versions(table)]
    i = ids.index(version)
    return ids[i - 1] if i > 0 else None


def version_diff(store: Store, table: str, new: str, old: str | None) -> dict:
    """Key-level comparison of two versions' data: added / removed / changed / unchanged."""
    t = S.TABLES[table]
    new_path = store.version_dir(table, new) / "data.parquet"
    keys = ", ".join(f'"{k}"' for k in t.key)
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW n AS SELECT * FROM read_parquet({sql_literal_path(new_path)})")
        n_new = con.execute("SELECT count(*) FROM n").fetchone()[0]
        if old is None:
            return {"rows": n_new, "rows_before": 0, "added": n_new, "removed": 0, "changed": 0,
                    "unchanged": 0}
        old_path = store.version_dir(table, old) / "data.parquet"
        con.execute(f"CREATE VIEW o AS SELECT * FROM read_parquet({sql_literal_path(old_path)})")
        n_old = con.execute("SELECT count(*) FROM o").fetchone()[0]
        added = con.execute(f"SELECT count(*) FROM (SELECT {keys} FROM n EXCEPT SELECT {keys} FROM o)").fetchone()[0]
        removed = con.execute(f"SELECT count(*) FROM (SELECT {keys} FROM o EXCEPT SELECT {keys} FROM n)").fetchone()[0]
        common = con.execute(f"SELECT count(*) FROM (SELECT {keys} FROM n INTERSECT SELECT {keys} FROM o)").fetchone()[0]
        same = con.execute("SELECT count(*) FROM (SELECT * FROM n INTERSECT SELECT * FROM o)").fetchone()[0]
    finally:
        con.close()
    return {"rows": int(n_new), "rows_before": int(n_old), "added": int(added),
            "removed": int(removed), "changed": int(common - same), "unchanged": int(same)}


def rollback(store: Store, settings: Settings, table: str, version: str, *, user: str) -> dict:
    with store.lock(settings.lock_timeout_seconds):
        return store.set_current(table, version, user=user)


# --- boundaries ------------------------------------------------------------------------------


def boundary_codes(store: Store) -> set[str]:
    """District and street codes: the units the map draws."""
    path = store.current_data("units")
    if path is None:
        return set()
    units = pd.read_parquet(path, columns=["code", "level"])
    return set(units.loc[units["level"].isin(["district", "street"]), "code"])


def parse_boundaries(content: bytes, codes: set[str]) -> tuple[dict | None, list[str]]:
    """(FeatureCollection, problems in Chinese)."""
    if len(content) > MAX_BOUNDARIES_MB << 20:
        return None, [f"文件超过 {MAX_BOUNDARIES_MB} MB，请先简化边界再上传"]
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, ["文件不是 UTF-8 编码的 GeoJSON"]
    try:
        fc = json.loads(text)
    except ValueError as e:
        return None, [f"不是有效的 JSON：第 {getattr(e, 'lineno', '?')} 行附近格式错误"]
    from metrics.contract.boundaries import validate_boundaries

    problems = validate_boundaries(fc, codes)
    if not problems and not fc["features"]:
        problems = ["文件中没有任何边界要素"]
    return fc, problems


def boundaries_summary(fc: dict, units: pd.DataFrame) -> dict:
    have = {str(f["properties"]["code"]).strip() for f in fc.get("features", [])}
    out = {}
    for level in ("district", "street"):
        codes = set(units.loc[units["level"] == level, "code"])
        out[level] = {"have": len(codes & have), "total": len(codes),
                      "missing": sorted(codes - have)}
    return out


def save_boundaries(store: Store, settings: Settings, fc: dict, *, user: str,
                    file_name: str) -> None:
    """Write ``boundaries.geojson`` atomically, the previous file kept as
    ``boundaries.prev.geojson``."""
    root = store.root
    with store.lock(settings.lock_timeout_seconds):
        cur = root / BOUNDARIES
        text = json.dumps(fc, ensure_ascii=False)
        if cur.exists():
            prev_tmp = root / f".{BOUNDARIES_PREV}.{uuid.uuid4().hex}.tmp"
            shutil.copyfile(cur, prev_tmp)
            with open(prev_tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(prev_tmp, root / BOUNDARIES_PREV)
        write_atomic(cur, text)
        store.audit({"event": "boundaries", "user": user, "file_name": Source(file_name).safe_name,
                     "features": len(fc.get("features", []))})


def restore_previous_boundaries(store: Store, settings: Settings, *, user: str) -> bool:
    """Swap the current and previous boundary files (False when there is no previous one)."""
    root = store.root
    with store.lock(settings.lock_timeout_seconds):
        prev, cur = root / BOUNDARIES_PREV, root / BOUNDARIES
        if not prev.exists():
            return False
        prev_text = prev.read_text(encoding="utf-8")
        if cur.exists():
            write_atomic(prev, cur.read_text(encoding="utf-8"))
        write_atomic(cur, prev_text)
        store.audit({"event": "boundaries_restore", "user": user})
    return True


def boundaries_info(store: Store) -> dict | None:
    path = store.root / BOUNDARIES
    if not path.exists():
        return None
    try:
        fc = json.loads(path.read_text(encoding="utf-8"))
        n = len(fc.get("features", []))
    except (ValueError, AttributeError):
        n = None
    when = dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return {"features": n, "time": when,
            "has_previous": (store.root / BOUNDARIES_PREV).exists()}
