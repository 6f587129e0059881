"""``python -m metrics``: everything the dashboard does with data, from the command line.

Exit status: 0 done; 1 rejected/unreadable/empty file or no such version (nothing changed);
2 usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
from pathlib import Path

import pandas as pd

from metrics.contract import schema as S
from metrics.datadir import ensure_demo, resolve_data_dir, write_sample
from metrics.definitions import DOMAIN_KEYS, METRICS, format_value
from metrics.domains.common import Report
from metrics.domains.registry import FILTERS as DOMAIN_FILTERS
from metrics.domains.registry import GROUP_LEVELS as DOMAIN_GROUP_LEVELS
from metrics.domains.registry import MODULES as DOMAIN_MODULES
from metrics.exports.build import PDF_PAGES
from metrics.selection import LEVELS, Selection, SelectionError, month_str
from metrics.settings import load_settings
from metrics.store.versions import NoSuchVersion, Store, StoreBusy


class UsageError(Exception):
    pass


# --- JSON -----------------------------------------------------------------------------------


def _json_value(v: object) -> object:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
        return v
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def frame_records(df: pd.DataFrame) -> list[dict]:
    cols = list(df.columns)
    return [{c: _json_value(v) for c, v in zip(cols, row, strict=True)}
            for row in df.itertuples(index=False, name=None)]


def report_payload(domain: str, sel: Selection, rep: Report, settings, targets: dict | None,
                   extra: dict | None = None, *, level: str | None = None) -> dict:
    """``level``: a group level (责任单位 ``owner``) instead of ``sel.level``."""
    from metrics.domains.targets import time_elapsed

    as_of = rep.as_of
    domain_settings = {"response_hours": settings.response_hours, **settings.score_weights(),
                       "ranking_n": settings.ranking_n}
    if domain == "tasks":  # 临期 depends on it; other domains' payloads stay as they were
        domain_settings["task_due_soon_days"] = settings.task_due_soon_days
    out = {
        "domain": domain,
        "level": level or sel.level,
        "from": month_str(rep.first),
        "to": month_str(rep.last),
        "as_of": as_of.strftime("%Y-%m-%dT%H:%M:%S"),
        "settings": domain_settings,
        "rows": frame_records(rep.frame[["unit_code", "unit_name", *DOMAIN_KEYS[domain]]]),
        "time_elapsed": time_elapsed(as_of),
        "targets": targets or {},
    }
    if rep.has_snapshot:
        out["snapshot"] = rep.snapshot
    for name, month in rep.snapshots.items():  # grid_snapshot, compound_snapshot
        out[f"{name}_snapshot"] = month
    out.update(extra or {})
    return out


# --- commands -------------------------------------------------------------------------------


def _selection(args: argparse.Namespace) -> Selection:
    filters: dict[str, list[str]] = {}
    unit = None
    for item in args.filter or []:
        if "=" not in item:
            raise UsageError(f"--filter 应为 KEY=VALUE：{item}")
        k, v = item.split("=", 1)
        k = k.strip()
        if k == "unit":
            unit = v.strip()
            continue
        filters.setdefault(k, []).append(v.strip())
    if args.period and (args.from_ or args.to):
        raise UsageError("--period 与 --from/--to 只能二选一")
    as_of = None
    if args.as_of:
        try:
            as_of = dt.datetime.fromisoformat(args.as_of)
        except ValueError:
            raise UsageError(f"--as-of 应为 YYYY-MM-DDTHH:MM:SS：{args.as_of}") from None
        if as_of.tzinfo is not None:
            raise UsageError("--as-of 不带时区(按北京时间)")
    scope = getattr(args, "scope", None)
    if getattr(args, "user", None):
        from metrics.accounts import AccountStore

        acct = AccountStore(args.data_dir_resolved).get(args.user)
        if acct is None:
            raise UsageError(f"没有用户 {args.user}")
        scope = acct.scope
    # A group level (责任单位 of 重点任务督办) is no Selection level: its rows cover the whole
    # selected unit, so the Selection is taken at the city level and the report groups it.
    level = "city" if args.level in GROUP_LEVEL_NAMES else args.level
    try:
        return Selection.make(level, period=args.period, period_from=args.from_,
                              period_to=args.to, as_of=as_of, unit=unit, filters=filters,
                              scope=scope)
    except SelectionError as e:
        raise UsageError(str(e)) from None


def cmd_report(args: argparse.Namespace, store: Store) -> int:
    from metrics.domains.registry import GROUP_LEVELS, group_report, report
    from metrics.domains.targets import with_targets
    from metrics.engine import EngineError, engine_name, open_engine

    settings = load_settings(store.root)
    sel = _selection(args)
    group = args.level if args.level in GROUP_LEVEL_NAMES else None
    if group is not None and group not in GROUP_LEVELS.get(args.domain, {}):
        raise UsageError(f"{args.domain} 不支持层级 {group}")
    try:
        # --engine, else the engine setting (DuckDB by default)
        con = open_engine(store, settings, engine=engine_name(settings, args.engine))
    except EngineError as e:
        print(str(e), file=sys.stderr)
        return 1
    try:
        if group is not None:
            rep = group_report(con, args.domain, group, sel, settings=settings)
        else:
            rep = report(con, args.domain, sel, settings=settings)
        df = rep.frame
        targets = with_targets(con, df, rep.as_of)
    except SelectionError as e:
        raise UsageError(str(e)) from None
    finally:
        con.close()
    if args.format == "json":
        print(json.dumps(report_payload(args.domain, sel, rep, settings, targets, level=group),
                         ensure_ascii=False))
    elif args.format == "csv":
        from metrics.exports.xlsx import safe_csv_text

        sys.stdout.buffer.write(safe_csv_text(df[["unit_code", "unit_name",
                                                  *DOMAIN_KEYS[args.domain]]]))
    else:
        shown = df[["unit_code", "unit_name", *DOMAIN_KEYS[args.domain]]].copy()
        for k in DOMAIN_KEYS[args.domain]:
            shown[k] = [format_value(k, v) for v in shown[k]]
        shown.columns = ["代码", "名称", *[METRICS[k].label for k in DOMAIN_KEYS[args.domain]]]
        print(f"# {args.domain} {month_str(rep.first)}..{month_str(rep.last)} "
              f"截止 {rep.as_of:%Y-%m-%d %H:%M:%S}")
        with pd.option_context("display.max_rows", None, "display.max_columns", None,
                               "display.width", 250):
            print(shown.to_string(index=False))
    return 0


def cmd_ingest(args: argparse.Namespace, store: Store) -> int:
    from metrics.store.ingest import Rejected, Source, ingest

    if args.table not in S.TABLES:
        raise UsageError(f"未知的表 {args.table}(可用：{', '.join(S.TABLES)})")
    path = Path(args.file)
    if not path.is_file():
        print(json.dumps({"errors": [{"row": None, "column": "", "value": str(path),
                                      "reason": "文件不存在或无法读取"}], "warnings": []},
                         ensure_ascii=False) if args.json else f"文件不存在或无法读取：{path}")
        return 1
    settings = load_settings(store.root)
    try:
        line = ingest(store, args.table, Source(path.name, path=path), user=args.user,
                      settings=settings, replace=args.replace)
    except Rejected as r:
        errors = [e.as_dict() for e in r.errors]
        warnings = [w.as_dict() for w in (r.report.warnings if r.report else [])]
        if args.json:
            print(json.dumps({"errors": errors, "warnings": warnings}, ensure_ascii=False))
        else:
            print(f"错误 {len(errors)} 处，文件未发布：{r.message}")
            for e in errors:
                print(f"第 {e['row'] if e['row'] is not None else '-'} 行\t{e['column']}\t"
                      f"{e['value']}\t{e['reason']}")
        return 1
    except StoreBusy as e:
        print(str(e), file=sys.stderr)
        return 1
    print(json.dumps(line, ensure_ascii=False))
    return 0


def cmd_versions(args: argparse.Namespace, store: Store) -> int:
    if args.table and args.table not in S.TABLES:
        raise UsageError(f"未知的表 {args.table}")
    rows = store.versions(args.table)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print("table\tversion\tcurrent\ttime\tuser\tfile\tsha256\trows\twarnings")
    for v in rows:
        print("\t".join(str(x) for x in (
            v["table"], v["version"], "*" if v["current"] else "", v["created_at"], v["user"],
            v["file_name"], v["sha256"], v["rows"], v["warning_count"])))
    return 0


def cmd_rollback(args: argparse.Namespace, store: Store) -> int:
    if args.table not in S.TABLES:
        raise UsageError(f"未知的表 {args.table}")
    settings = load_settings(store.root)
    try:
        with store.lock(settings.lock_timeout_seconds):
            meta = store.set_current(args.table, args.version, user=args.user)
    except NoSuchVersion as e:
        print(str(e), file=sys.stderr)
        return 1
    print(json.dumps({"table": args.table, "version": meta["version"], "rows": meta["rows"]},
                     ensure_ascii=False))
    return 0


def cmd_sample(args: argparse.Namespace, store: Store) -> int:
    out = write_sample(store, seed=args.seed, scale=args.scale)
    print(json.dumps({"tables": {o["table"]: o["rows"] for o in out}}, ensure_ascii=False))
    return 0


def cmd_template(args: argparse.Namespace, store: Store) -> int:
    from metrics.contract.templates import template_xlsx

    if args.table not in S.TABLES:
        raise UsageError(f"未知的表 {args.table}")
    Path(args.out).write_bytes(template_xlsx(args.table))
    print(args.out)
    return 0


def cmd_export(args: argparse.Namespace, store: Store) -> int:
    from metrics.exports import build as exports

    sel = _selection(args)
    settings = load_settings(store.root)
    when = None
    if args.date:
        try:
            when = dt.date.fromisoformat(args.date)
        except ValueError:
            raise UsageError(f"会议日期应为 YYYY-MM-DD：{args.date}") from None
    try:
        data = exports.build(store, settings, args.kind, sel, page=args.page, title=args.meeting,
                             host=args.host, meeting_date=when)
    except exports.ExportError as e:
        raise UsageError(str(e)) from None
    Path(args.out).write_bytes(data)
    print(args.out)
    return 0


def cmd_schedule(args: argparse.Namespace, store: Store) -> int:
    from metrics import schedule as SCH

    try:
        if args.action == "run":
            now = dt.datetime.fromisoformat(args.now) if args.now else None
            results = SCH.run(store, load_settings(store.root), now=now,
                              outbox=Path(args.outbox) if args.outbox else None, only=args.id)
            for r in results:
                print(json.dumps(vars(r), ensure_ascii=False))
            return 1 if any(r.status == "failed" for r in results) else 0
        schedules = SCH.load_schedules(store.root)
        if args.action == "list":
            for s in schedules:
                print(json.dumps(s.as_dict(), ensure_ascii=False))
            return 0
        if not args.id:
            raise UsageError("请给出计划编号")
        if args.action == "remove":
            kept = [s for s in schedules if s.id != args.id]
            if len(kept) == len(schedules):
                raise UsageError(f"没有这个计划：{args.id}")
            SCH.save_schedules(store.root, kept)
            return 0
        new = SCH.Schedule(
            id=args.id, name=args.name or args.id, frequency=args.frequency,
            formats=tuple(x for x in (args.formats or "pptx,xlsx,pdf").split(",") if x),
            level=args.level or "district", unit=args.unit,
            recipients=tuple(x for x in (args.to or "").split(",") if x),
            enabled=not args.disabled)
        SCH.save_schedules(store.root, [s for s in schedules if s.id != new.id] + [new])
        print(json.dumps(new.as_dict(), ensure_ascii=False))
        return 0
    except (SCH.ScheduleError, ValueError) as e:
        raise UsageError(str(e)) from None


def cmd_user(args: argparse.Namespace, store: Store) -> int:
    from metrics.accounts import ROLE_LABELS, AccountStore, AuthError

    settings = load_settings(store.root)
    accounts = AccountStore(store.root, max_failures=settings.login_max_failures,
                            lockout_minutes=settings.lockout_minutes)
    if args.action != "list" and not args.name:
        raise UsageError(f"用法：user {args.action} NAME")
    try:
        if args.action == "list":
            print("name\trole\tscope\tlocked")
            for a in accounts.list():
                print(f"{a.name}\t{a.role}({ROLE_LABELS[a.role]})\t{a.scope or ''}\t"
                      f"{'locked' if accounts.is_locked(a.name) else ''}")
            return 0
        if args.action == "remove":
            accounts.remove(args.name)
            store.audit({"event": "account", "action": "remove", "user": "cli",
                         "target": args.name})
            return 0
        if args.action == "unlock":
            accounts.unlock(args.name)
            store.audit({"event": "account", "action": "unlock", "user": "cli",
                         "target": args.name})
            return 0
        if not args.role:
            raise UsageError("用法：user add NAME --role ROLE [--scope CODE] --password-stdin")
        if not args.password_stdin:
            raise UsageError("请用 --password-stdin 从标准输入提供密码")
        password = sys.stdin.readline().rstrip("\r\n")
        acct = accounts.add_or_update(args.name, args.role, password, scope=args.scope)
    except AuthError as e:
        print(str(e), file=sys.stderr)
        return 2
    store.audit({"event": "account", "action": "add", "user": "cli", "target": acct.name,
                 "role": acct.role, "scope": acct.scope})
    print(json.dumps({"name": acct.name, "role": acct.role, "scope": acct.scope},
                     ensure_ascii=False))
    return 0


# --- parser ---------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with a Chinese hint
        self.print_usage(sys.stderr)
        print(f"用法错误：{message}", file=sys.stderr)
        raise SystemExit(2)


# Group levels some domains report besides the units (registry.GROUP_LEVELS): ``report`` only.
GROUP_LEVEL_NAMES = tuple(dict.fromkeys(g for gs in DOMAIN_GROUP_LEVELS.values() for g in gs))


def _selection_options(p: argparse.ArgumentParser, *, level_default: str | None) -> None:
    if level_default is None:
        p.add_argument("--level", required=True, choices=(*LEVELS, *GROUP_LEVEL_NAMES))
    else:
        p.add_argument("--level", default=level_default, choices=LEVELS)
    p.add_argument("--period", help="YYYY-MM")
    p.add_argument("--from", dest="from_", help="YYYY-MM")
    p.add_argument("--to", help="YYYY-MM")
    p.add_argument("--as-of", dest="as_of", help="YYYY-MM-DDTHH:MM:SS")
    p.add_argument("--filter", action="append", metavar="KEY=VALUE",
                   help=", ".join([*dict.fromkeys(f for fs in DOMAIN_FILTERS.values() for f in fs),
                                   "unit=CODE"]))
    p.add_argument("--scope", help="limit everything to this unit (a viewer's scope)")
    p.add_argument("--user", help="apply this account's scope")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="data dir (default: $GRIDBOARD_DATA_DIR, else data/store)")
    parser = _Parser(prog="python -m metrics", parents=[common],
                     description="网格治理看板 Gridboard: data, metrics and exports")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("sample", parents=[common], help="write the demo city (示例数据)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--scale", type=float, default=1.0)

    p = sub.add_parser("ingest", parents=[common], help="validate FILE as TABLE and publish")
    p.add_argument("table")
    p.add_argument("file")
    p.add_argument("--user", default=os.environ.get("USER", "cli"))
    p.add_argument("--replace", action="store_true", help="replace the table instead of upsert")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("report", parents=[common], help="a domain's metrics for every unit")
    p.add_argument("domain", choices=tuple(DOMAIN_MODULES))
    _selection_options(p, level_default=None)
    p.add_argument("--format", choices=("json", "csv", "table"), default="json")
    p.add_argument("--engine", choices=("duckdb", "spark"),
                   help="query engine (default: the engine setting, duckdb); spark runs on "
                        "$GRIDBOARD_SPARK_URL (sc://host:15002, or local[2] by default)")

    p = sub.add_parser("versions", parents=[common], help="list versions")
    p.add_argument("table", nargs="?")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("rollback", parents=[common], help="make an earlier version current")
    p.add_argument("table")
    p.add_argument("version")
    p.add_argument("--user", default=os.environ.get("USER", "cli"))

    p = sub.add_parser("template", parents=[common], help="blank extract template (XLSX)")
    p.add_argument("table")
    p.add_argument("--out", required=True)

    p = sub.add_parser("export", parents=[common],
                       help="推进会 slides (pptx, pdf), 通报 workbook (xlsx) or 督办通知 (docx)")
    p.add_argument("kind", choices=("pptx", "xlsx", "pdf", "docx"))
    p.add_argument("--out", required=True)
    p.add_argument("--page", default="deck", choices=PDF_PAGES,
                   help="pdf: the whole deck, or one dashboard page's summary")
    p.add_argument("--meeting", help="pptx/pdf title slide: 会议名称 (default 党建引领基层治理工作推进会)")
    p.add_argument("--host", help="pptx/pdf title slide: 主办单位")
    p.add_argument("--date", help="pptx/pdf title slide: 会议日期, YYYY-MM-DD")
    _selection_options(p, level_default="city")

    p = sub.add_parser("schedule", parents=[common],
                       help="scheduled 周报/月报: run the due ones into the outbox; list, add, remove")
    p.add_argument("action", choices=("run", "list", "add", "remove"))
    p.add_argument("id", nargs="?", help="schedule id (run: only this one)")
    p.add_argument("--name")
    p.add_argument("--frequency", choices=("weekly", "monthly"), default="monthly")
    p.add_argument("--formats", help="comma-separated: pptx,xlsx,pdf,docx")
    p.add_argument("--level", choices=LEVELS)
    p.add_argument("--unit")
    p.add_argument("--to", help="comma-separated recipients (mailed via the SMTP relay setting)")
    p.add_argument("--disabled", action="store_true")
    p.add_argument("--now", help="run as at this local time (YYYY-MM-DDTHH:MM:SS)")
    p.add_argument("--outbox", help="folder for the files (default DATA_DIR/outbox)")

    p = sub.add_parser("user", parents=[common],
                       help="local accounts: add (or update), list, remove, unlock")
    p.add_argument("action", choices=("add", "list", "remove", "unlock"))
    p.add_argument("name", nargs="?")
    p.add_argument("--role", choices=("viewer", "analyst", "admin"), help="required for add")
    p.add_argument("--scope")
    p.add_argument("--password-stdin", action="store_true")
    return parser


COMMANDS = {
    "sample": cmd_sample, "ingest": cmd_ingest, "report": cmd_report, "versions": cmd_versions,
    "rollback": cmd_rollback, "template": cmd_template, "export": cmd_export, "user": cmd_user,
    "schedule": cmd_schedule,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir, is_default = resolve_data_dir(getattr(args, "data_dir", None))
    args.data_dir_resolved = data_dir
    store = Store(data_dir)
    try:
        if args.command != "sample":
            ensure_demo(data_dir, is_default)
        return COMMANDS[args.command](args, store)
    except UsageError as e:
        print(f"用法错误：{e}", file=sys.stderr)
        return 2
    except StoreBusy as e:
        print(str(e), file=sys.stderr)
        return 1
