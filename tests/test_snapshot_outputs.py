"""``report`` and ``export xlsx`` output held equal to committed golden files.

A small demo city (``sample --seed 11 --scale 0.02``, 76 units) is written once; every domain ×
level of ``report`` (json, csv and table) and the sheet contents of the 通报 workbook must equal
the files under ``tests/golden/``. A refactoring that moves code keeps these byte for byte; a
change that means to alter the output regenerates them and shows the difference in review::

    GRIDBOARD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_snapshot_outputs.py

Nothing here is volatile: the demo city is seeded, ``as_of`` and 时间进度 follow from the data,
and the workbook's version string counts versions, not times. The workbook's document
properties (creation time) are not sheet contents and are not compared.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
from pathlib import Path

import openpyxl
import pytest

from metrics.cli import main
from metrics.domains import registry

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GRIDBOARD_UPDATE_GOLDEN") == "1"
SEED, SCALE = "11", "0.02"

DOMAINS = tuple(registry.MODULES)  # a new domain needs its golden files
LEVELS = ("city", "district", "street", "community", "grid")
FORMATS = {"json": "json", "csv": "csv", "table": "txt"}
# Beyond the default month: a range, the as_of inside a month, and the filters of each domain.
EXTRA_REPORTS = {
    "issues_street_range": ("issues", "--level", "street", "--from", "2026-08", "--to", "2026-10"),
    "issues_street_source": ("issues", "--level", "street", "--period", "2026-10",
                             "--filter", "source=12345热线"),
    "issues_community_as_of": ("issues", "--level", "community",
                               "--as-of", "2026-10-15T12:00:00"),
    "coverage_district_sector": ("coverage", "--level", "district", "--filter", "sector=互联网企业"),
    "pairing_street_range": ("pairing", "--level", "street", "--from", "2026-01", "--to", "2026-10"),
}


def cli(*args: str) -> tuple[int, bytes, str]:
    """(exit status, stdout bytes, stderr) of ``python -m metrics ARGS`` run in this process."""
    buf = io.BytesIO()
    out = io.TextIOWrapper(buf, encoding="utf-8", newline="")
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as e:  # argparse usage errors
            status = int(e.code or 0)
        out.flush()
    return status, buf.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> str:
    d = str(tmp_path_factory.mktemp("snapshot") / "data")
    status, _, err = cli("sample", "--seed", SEED, "--scale", SCALE, "--data-dir", d)
    assert status == 0, err
    return d


def check_golden(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(actual)
        return
    assert path.exists(), f"no golden file {path.name}; run with GRIDBOARD_UPDATE_GOLDEN=1"
    expected = path.read_bytes()
    if actual != expected:
        # Show the first differing line rather than two long blobs.
        a, e = actual.decode("utf-8").splitlines(), expected.decode("utf-8").splitlines()
        for i, (x, y) in enumerate(zip(a, e)):
            if x != y:
                pytest.fail(f"{name} line {i + 1} differs:\n  got      {x[:400]}\n"
                            f"  expected {y[:400]}")
        pytest.fail(f"{name}: {len(a)} lines, expected {len(e)}")


def report_bytes(status: int, out: bytes, err: str, fmt: str) -> bytes:
    """The output as compared: JSON pretty-printed in its own key order (one field a line, so a
    failure names it) and a rejected selection's exit status and message."""
    if status != 0:
        return f"exit {status}\n{err}".encode()
    if fmt == "json":
        return (json.dumps(json.loads(out), ensure_ascii=False, indent=1) + "\n").encode()
    return out


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_report_equals_golden_file(data_dir, domain, level, fmt):
    status, out, err = cli("report", domain, "--level", level, "--format", fmt,
                           "--data-dir", data_dir)
    check_golden(f"report_{domain}_{level}.{FORMATS[fmt]}", report_bytes(status, out, err, fmt))


@pytest.mark.parametrize("name", EXTRA_REPORTS)
def test_report_with_period_and_filters_equals_golden_file(data_dir, name):
    status, out, err = cli("report", *EXTRA_REPORTS[name], "--data-dir", data_dir)
    check_golden(f"report_{name}.json", report_bytes(status, out, err, "json"))


def _cell(v: object) -> object:
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    return v


def workbook_contents(path: Path) -> bytes:
    """Every sheet's name and cell values, row by row (formats and properties left out)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    sheets = {ws.title: [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
              for ws in wb.worksheets}
    wb.close()
    lines = []
    for title, rows in sheets.items():
        lines.append(f"## {title}")
        lines += [json.dumps(r, ensure_ascii=False) for r in rows]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("level", ("city", "district", "street"))
def test_export_xlsx_sheets_equal_golden_file(data_dir, tmp_path, level):
    out = tmp_path / "通报表.xlsx"
    status, _, err = cli("export", "xlsx", "--out", str(out), "--level", level,
                         "--data-dir", data_dir)
    assert status == 0, err
    check_golden(f"export_xlsx_{level}.txt", workbook_contents(out))
