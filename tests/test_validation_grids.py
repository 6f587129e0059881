"""网格与小区 extracts: personal data, Chinese aliases, enum aliases, defaults and the monthly
replace-period merge, through the real ingest on a copy of the baseline store (tests/bad_files.py).

The one-bad-row files of both tables run with every other table's in
tests/test_validation.py::test_bad_file_is_rejected_naming_row_column_reason.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from metrics.contract import schema as S
from metrics.settings import Settings
from metrics.store.ingest import Rejected, Source, ingest, prepare
from metrics.store.versions import Store
from tests import bad_files as B
from tests.test_validation import assert_no_pii_anywhere, assert_only_audit_grew, snapshot

SETTINGS = Settings()


@pytest.fixture
def store(tmp_path) -> Store:
    d = tmp_path / "data"
    shutil.copytree(B.baseline_dir(), d)
    return Store(d)


def ingest_bytes(store: Store, table: str, file_name: str, content: bytes, **kw) -> dict:
    return ingest(store, table, Source(file_name, content=content), user="t", settings=SETTINGS,
                  **kw)


def stored(store: Store, table: str) -> pd.DataFrame:
    return pd.read_parquet(store.current_data(table))


def test_both_tables_have_bad_files_and_a_missing_column_case():
    names = {f.name for f in B.bad_files() if f.table in ("grids", "compounds")}
    assert "grids_missing_column_grid_code" in names
    assert "compounds_missing_column_property_service" in names
    assert len([n for n in names if n.startswith("grids_")]) >= 10
    assert len([n for n in names if n.startswith("compounds_")]) >= 10


# --- personal data ----------------------------------------------------------------------------

# The columns a real 网格 or 小区 roster carries next to the counts.
PII_HEADERS = {
    "grids": ["网格长姓名", "网格员联系电话", "网格员身份证号"],
    "compounds": ["小区地址", "物业联系电话", "楼栋长姓名"],
}


@pytest.mark.parametrize("table", ["grids", "compounds"])
def test_personal_data_columns_are_dropped_named_and_never_stored(store, table):
    headers = PII_HEADERS[table]
    values = {"姓名": B.PII_NAME, "电话": B.PII_PHONE, "身份证": B.PII_ID, "地址": B.PII_ADDRESS}
    planted = [next(v for k, v in values.items() if k in h) for h in headers]
    body = [[*B.row_list(table, r), *planted] for r in B.GOOD_ROWS[table]]
    content = B.csv_bytes([*B.header_list(table), *headers], body)
    prepared = prepare(store, table, Source("roster.csv", content=content))
    assert prepared.checked.dropped_pii == headers
    line = ingest_bytes(store, table, "roster.csv", content)
    assert line["rows"] >= len(B.GOOD_ROWS[table])
    assert store.current(table)["dropped_pii"] == headers
    assert list(stored(store, table).columns) == S.TABLES[table].names
    assert_no_pii_anywhere(store.root)


def test_compound_name_is_not_personal_data():
    assert not S.is_pii_header("小区名称")
    assert S.is_pii_header("小区地址") and S.is_pii_header("网格长姓名")


def test_rejected_compound_file_with_personal_data_leaves_no_trace(store):
    t = "compounds"
    rows = [*B.GOOD_ROWS[t], {**B.BAD_BASE[t], "property_service": "物业托管"}]
    body = [[*B.row_list(t, r), B.PII_NAME] for r in rows]
    content = B.csv_bytes([*B.header_list(t), "楼栋长姓名"], body)
    before = snapshot(store.root)
    with pytest.raises(Rejected) as info:
        ingest_bytes(store, t, "bad.csv", content)
    assert [e.row for e in info.value.errors] == [4]
    assert all(B.PII_NAME not in e.value for e in info.value.errors)
    assert_only_audit_grew(before, snapshot(store.root), "rejected")
    assert_no_pii_anywhere(store.root)


# --- headers, enum aliases, defaults ----------------------------------------------------------


def test_grid_file_with_alias_headers_and_value_forms(store):
    header = ["统计月份", "所属网格代码", "网格党组织建立情况", "网格长", "专职网格员", "兼职网格员",
              "住户数（户）"]
    rows = [["202605", B.GRID, "党小组", "是", "１", "2", "1,200"],
            ["2026/05", B.GRID2, "未组建", "", "0", "0", "0"]]
    ingest_bytes(store, "grids", "grids_alias.csv", B.csv_bytes(header, rows))
    df = stored(store, "grids")
    may = df[df["period"] == pd.Timestamp("2026-05-01").date()].set_index("grid_code")
    assert may.loc[B.GRID, "grid_party_org"] == "网格党小组"
    assert may.loc[B.GRID2, "grid_party_org"] == "未建"
    assert bool(may.loc[B.GRID2, "grid_leader"]) is False  # empty → 否
    assert (may.loc[B.GRID, "fulltime_workers"], may.loc[B.GRID, "households"]) == (1, 1200)


def test_compound_enum_aliases_and_empty_booleans(store):
    t = "compounds"
    rows = [{**B.BAD_BASE[t], "party_org": "党支部", "property_service": "物业公司",
             "owners_committee": "", "model_compound": ""},
            {**B.BAD_BASE[t], "compound_id": "XQ198", "party_org": "无",
             "property_service": "业主自管", "owners_committee": "Y", "model_compound": "1"}]
    ingest_bytes(store, t, "c.csv", B.table_csv(t, rows))
    df = stored(store, t).set_index("compound_id")
    assert df.loc["XQ199", ["party_org", "property_service"]].tolist() == ["小区党支部", "专业物业"]
    assert df.loc["XQ198", ["party_org", "property_service"]].tolist() == ["未建", "自管"]
    assert bool(df.loc["XQ199", "owners_committee"]) is False
    assert bool(df.loc["XQ199", "model_compound"]) is False
    assert bool(df.loc["XQ198", "owners_committee"]) and bool(df.loc["XQ198", "model_compound"])


def test_compound_codes_keep_leading_zeros(store):
    t = "compounds"
    ingest_bytes(store, t, "c.csv", B.table_csv(t, [{**B.BAD_BASE[t], "compound_id": "000123"}]))
    assert "000123" in set(stored(store, t)["compound_id"])


def test_more_neighbor_heads_than_households_is_a_warning_and_the_row_is_kept(store):
    f = next(f for f in B.warning_files() if f.table == "compounds")
    line = ingest_bytes(store, f.table, f.file_name, f.content)
    assert [(w["row"], w["column"]) for w in line["warnings"]] == [(f.expected_row, "邻长数")]
    assert "多于小区户数" in line["warnings"][0]["reason"]
    assert "XQ199" in set(stored(store, "compounds")["compound_id"])


# --- merge ------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["grids", "compounds"])
def test_a_month_replaces_only_that_months_rows(store, table):
    key = S.TABLES[table].key[1]
    march = stored(store, table)
    assert set(march["period"].astype(str)) == {"2026-03-01"}
    # April twice: the second April file replaces the first April's rows, March stays.
    ingest_bytes(store, table, "april.csv", B.table_csv(table, B.GOOD_ROWS[table]))
    one_row = [B.GOOD_ROWS[table][0]]
    line = ingest_bytes(store, table, "april2.csv", B.table_csv(table, one_row))
    df = stored(store, table)
    by_month = df.groupby(df["period"].astype(str)).size().to_dict()
    assert by_month["2026-03-01"] == len(B.BASELINE_ROWS[table])
    assert by_month["2026-04-01"] == 1, by_month
    assert line["rows"] == len(B.BASELINE_ROWS[table]) + 1
    march_after = df[df["period"].astype(str) == "2026-03-01"].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(march_after, march.sort_values(key).reset_index(drop=True))
    assert S.TABLES[table].merge == "replace_periods"


def test_same_compound_id_in_two_months_is_not_a_duplicate(store):
    t = "compounds"
    rows = [{**B.BAD_BASE[t], "period": "2026-05"}, {**B.BAD_BASE[t], "period": "2026-06"}]
    line = ingest_bytes(store, t, "two_months.csv", B.table_csv(t, rows))
    assert line["inserted"] == 2
