"""Property: whatever bytes arrive as whatever table, ingest either publishes a version or raises
a clean ``Rejected`` — never another exception — and a rejection leaves the data dir unchanged
(but for one "rejected" line in audit.jsonl)."""

from __future__ import annotations

import json
import shutil
import string
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.contract import schema as S
from metrics.settings import Settings
from metrics.store.ingest import Rejected, Source, ingest
from metrics.store.versions import Store
from tests import bad_files as B

TABLES = list(S.TABLES)
SETTINGS = Settings(lock_timeout_seconds=5)
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def baseline() -> Path:
    return B.baseline_dir()


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
            for p in sorted(root.rglob("*"))}


def run_property(baseline: Path, table: str, content: bytes, file_name: str) -> str:
    """Ingest into a fresh copy of the baseline; check the outcome; 'published'/'rejected'."""
    with tempfile.TemporaryDirectory(prefix="gb-prop-") as tmp:
        root = Path(tmp) / "data"
        shutil.copytree(baseline, root)
        store = Store(root)
        before = snapshot(root)
        old_version = store.current(table)["version"]
        try:
            line = ingest(store, table, Source(file_name, content=content), user="prop",
                          settings=SETTINGS)
        except Rejected as r:
            assert r.errors and all(isinstance(e.reason, str) and e.reason for e in r.errors)
            assert r.message
            after = snapshot(root)
            assert set(after) == set(before)
            for rel, data in before.items():
                if rel != "audit.jsonl":
                    assert after[rel] == data, f"{rel} changed by a rejected file"
            added = after["audit.jsonl"][len(before["audit.jsonl"]):].decode("utf-8").splitlines()
            assert after["audit.jsonl"].startswith(before["audit.jsonl"])
            assert [json.loads(x)["event"] for x in added] == ["rejected"]
            return "rejected"
        # Published: a new current version whose data reads back.
        assert line["version"] != old_version
        assert store.current(table)["version"] == line["version"]
        df = pd.read_parquet(store.current_data(table))
        assert list(df.columns) == S.TABLES[table].names
        assert len(df) == line["rows"]
        return "published"


# --- strategies -------------------------------------------------------------------------------


def _seed_files() -> list[tuple[str, str, bytes]]:
    """(table, file name, valid bytes) to mutate."""
    out = []
    for t in TABLES:
        out.append((t, f"{t}.csv", B.table_csv(t, B.GOOD_ROWS[t])))
    t = "issues"
    out.append((t, "issues.xlsx", B.xlsx_bytes(B.header_list(t), [B.row_list(t, r) for r in B.GOOD_ROWS[t]])))
    out.append((t, "issues_gbk.csv", B.table_csv(t, B.GOOD_ROWS[t], encoding="gbk")))
    out.append(("checkins", "checkins.parquet", B.parquet_bytes(pd.DataFrame(B.GOOD_ROWS["checkins"]))))
    return out


SEEDS = _seed_files()

TOKENS = [b",", b"\r\n", b"\n", b'"', b"\x00", b";", b"\t", "是".encode(), "否".encode(), b"-1",
          b"2026-13", b"2026-02-30", b"25:00", b"99999999999999999999", b"1e5", b"%", b"=1+1",
          b"\xef\xbb\xbf", b"\xff\xfe", "工单编号".encode(), "统计月份".encode(), "手机号".encode(),
          "１２３".encode(), b"NaN", b"inf", b"990101001001", b"990101001001.0", b"   ", b"PK\x03\x04"]


@st.composite
def mutated_valid_file(draw) -> tuple[str, str, bytes]:
    table, name, content = draw(st.sampled_from(SEEDS))
    data = bytearray(content)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "dup_line", "truncate", "swap"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "replace" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            token = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=8))
            data[pos:pos] = token
        elif op == "delete":
            data[pos:pos + draw(st.integers(1, 40))] = b""
        elif op == "dup_line":
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            data = bytearray(b"\n".join(lines))
        elif op == "truncate":
            data = data[:pos]
        elif op == "swap":
            lines = bytes(data).split(b"\n")
            if len(lines) > 2:
                i = draw(st.integers(0, len(lines) - 2))
                lines[i], lines[i + 1] = lines[i + 1], lines[i]
            data = bytearray(b"\n".join(lines))
    as_table = draw(st.sampled_from([table, table, *TABLES]))
    return as_table, name, bytes(data)


WORDS = ["工单编号", "所属社区代码", "问题类别", "上报时间", "办理时限", "统计月份", "区划代码", "名称",
         "层级", "上级代码", "990101001001", "2026-03-05 10:00", "是", "否", "社区", "街道"]
TEXT = st.lists(
    st.one_of(st.text(alphabet=string.printable + "，、是否年月日中文", max_size=12),
              st.sampled_from(WORDS), st.sampled_from([",", "\n", "\r\n", '"'])),
    max_size=60,
).map("".join)


# --- properties -------------------------------------------------------------------------------


@PROPERTY
@given(content=st.binary(max_size=3000), table=st.sampled_from(TABLES),
       name=st.sampled_from(["x.csv", "x.xlsx", "x.parquet", "x.txt", "x"]))
def test_any_bytes_publish_or_reject_cleanly(baseline, content, table, name):
    run_property(baseline, table, content, name)


@PROPERTY
@given(case=mutated_valid_file())
def test_mutated_valid_files_publish_or_reject_cleanly(baseline, case):
    table, name, content = case
    run_property(baseline, table, content, name)


@PROPERTY
@given(text=TEXT, table=st.sampled_from(TABLES), encoding=st.sampled_from(["utf-8", "gb18030"]))
def test_printable_text_with_commas_and_newlines_publishes_or_rejects_cleanly(baseline, text, table,
                                                                               encoding):
    run_property(baseline, table, text.encode(encoding), "x.csv")
