"""Vectorised parsers for the value forms Chinese office spreadsheets really contain.

Each parser takes a pandas Series as read from a file (strings from CSV; mixed Python objects
from XLSX; typed columns from Parquet) and returns ``Parsed(values, reason)``: the typed values
(null where empty or bad) and a Series holding a Chinese reason where a cell is bad (None where
it is fine or empty). Emptiness is reported separately so the validator can apply defaults and
"required" rules in one place.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics.contract import schema as S
from metrics.selection import month_label


@dataclass
class Parsed:
    values: pd.Series
    reason: pd.Series  # object: Chinese reason or None
    empty: pd.Series  # bool: the cell was empty


def _reasons(index: pd.Index) -> pd.Series:
    return pd.Series(np.full(len(index), None, dtype=object), index=index, copy=False)


def _is_str_dtype(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype)


# Cell kinds as a categorical: comparing a million kinds with "str" compares small integer
# codes, not a million Python strings.
_KIND = pd.CategoricalDtype(["null", "str", "bool", "num", "dt", "other"])


def _kind_series(codes: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.Categorical.from_codes(codes, dtype=_KIND), index=index)


def _kinds(s: pd.Series) -> pd.Series:
    """Per-cell kind for object columns: 'null', 'str', 'bool', 'num', 'dt'."""

    def k(v: object) -> str:
        if v is None or v is pd.NaT or v is pd.NA:
            return "null"
        if isinstance(v, str):
            return "str" if v.strip() else "null"
        if isinstance(v, (bool, np.bool_)):
            return "bool"
        if isinstance(v, (int, float, np.integer, np.floating)):
            return "null" if isinstance(v, (float, np.floating)) and np.isnan(v) else "num"
        if isinstance(v, (dt.datetime, dt.date, pd.Timestamp, np.datetime64)):
            return "dt"
        return "other"

    return s.map(k).astype(_KIND)


def _nfkc(t: pd.Series) -> pd.Series:
    """``t.str.normalize("NFKC")`` for a "string" Series, without normalizing a million cells one
    by one: ASCII text is already in NFKC, and other text is normalized once per distinct value."""
    if getattr(t.dtype, "storage", None) != "pyarrow":
        return t.str.normalize("NFKC")
    arr = pa.array(t.array)
    if pc.all(pc.string_is_ascii(arr)).as_py() is not False:
        return t
    codes, uniques = pd.factorize(t)
    norm = [v if v.isascii() else unicodedata.normalize("NFKC", v)
            for v in uniques.to_numpy(dtype=object)]
    return pd.Series(pd.array(norm, dtype=t.dtype).take(codes, allow_fill=True), index=t.index)


def _text(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(normalized strings with None for empty, empty mask) for a string-like column."""
    t = s.astype("string")
    t = _nfkc(t).str.strip()
    empty = t.isna() | (t == "")
    if (empty & t.notna()).any():  # cells that became "" (already-missing cells stay as they are)
        t = t.where(~empty, None)
    return t, empty.fillna(True).astype(bool)


_NULL, _STR, _BOOL, _NUM, _DT = 0, 1, 2, 3, 4


def _blank_mask(s: pd.Series) -> np.ndarray:
    """Null or whitespace-only cells of a string-dtype column."""
    if getattr(s.dtype, "storage", None) == "pyarrow":
        # what ``s.isna() | (s.astype("string").str.strip() == "")`` computes, in one Arrow pass
        stripped = pc.utf8_trim_whitespace(pa.array(s.array))
        return pc.fill_null(pc.equal(stripped, ""), True).to_numpy(zero_copy_only=False)
    blank = s.isna() | (s.astype("string").str.strip() == "")
    return blank.to_numpy(dtype=bool, na_value=True)


def _looks_float(t: pd.Series) -> np.ndarray:
    """Cells of normalized text that look like a number written by Excel (1.0, 9.9E+11). Both
    forms need a "." or an "e": the regular expression runs only on cells that have one."""
    arr = pa.array(t.array) if getattr(t.dtype, "storage", None) == "pyarrow" else None
    if arr is not None:
        maybe = pc.or_(pc.or_(pc.match_substring(arr, "."), pc.match_substring(arr, "e")),
                       pc.match_substring(arr, "E"))
        maybe = pc.fill_null(maybe, False).to_numpy(zero_copy_only=False)
        out = np.zeros(len(t), dtype=bool)
        if maybe.any():
            out[maybe] = t[maybe].str.contains(_FLOAT_CODE, regex=True, na=False).to_numpy(dtype=bool)
        return out
    return t.str.contains(_FLOAT_CODE, regex=True, na=False).to_numpy(dtype=bool)


def _classify(s: pd.Series) -> pd.Series:
    if _is_str_dtype(s):
        return _kind_series(np.where(_blank_mask(s), _NULL, _STR).astype(np.int8), s.index)
    for test, code in ((pd.api.types.is_bool_dtype, _BOOL), (pd.api.types.is_numeric_dtype, _NUM),
                       (pd.api.types.is_datetime64_any_dtype, _DT)):
        if test(s.dtype):
            return _kind_series(np.where(s.isna().to_numpy(dtype=bool), _NULL, code).astype(np.int8),
                                s.index)
    return _kinds(s)


# --- codes and text -----------------------------------------------------------------------

_FLOAT_CODE = r"^[0-9]+\.[0-9]*$|^[0-9](?:\.[0-9]+)?[eE][+-]?[0-9]+$"


def parse_code(s: pd.Series) -> Parsed:
    """Codes stay text. A number (XLSX numeric cell, Parquet numeric column) is an error:
    leading zeros are already lost and a float may have rounded the code."""
    kinds = _classify(s)
    reason = _reasons(s.index)
    empty = kinds == "null"
    if _is_str_dtype(s):
        # Every cell is text or empty: one pass over the whole column.
        blank = empty.to_numpy(dtype=bool)
        t, _ = _text(s)
        looks_float = _looks_float(t) & ~blank
        bad = blank | looks_float
        if looks_float.any():
            reason[looks_float] = "代码被读成了数字(如带小数点或科学计数法)，请把该列设为文本格式"
        out = t.where(~bad, pd.NA) if bad.any() else t
        return Parsed(out, reason, empty.astype(bool))
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    is_str = kinds == "str"
    if is_str.any():
        t, _ = _text(s[is_str])
        out[is_str] = t
        looks_float = t.str.contains(_FLOAT_CODE, regex=True, na=False)
        reason[t.index[looks_float.to_numpy()]] = "代码被读成了数字(如带小数点或科学计数法)，请把该列设为文本格式"
    num = kinds == "num"
    reason[num] = "代码是数字格式，会丢失前导零，请把该列设为文本格式"
    other = ~(is_str | num | empty)
    reason[other] = "代码必须是文本"
    out[reason.notna()] = pd.NA
    return Parsed(out, reason, empty.astype(bool))


def parse_text(s: pd.Series) -> Parsed:
    reason = _reasons(s.index)
    if _is_str_dtype(s):
        out, empty = _text(s)
        return Parsed(out, reason, empty)
    kinds = _classify(s)
    empty = kinds == "null"
    out = pd.Series(pd.NA, index=s.index, dtype="string")

    def fmt(v: object) -> str:
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        if isinstance(v, (dt.datetime, pd.Timestamp)):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        return str(v)

    filled = ~empty
    if filled.any():
        out[filled] = s[filled].map(fmt).astype("string").str.normalize("NFKC").str.strip()
    return Parsed(out, reason, empty.astype(bool))


def parse_enum(s: pd.Series, allowed: tuple[str, ...], aliases: dict[str, str]) -> Parsed:
    p = parse_text(s)
    lookup = {a: a for a in allowed}
    lookup.update({unicodedata.normalize("NFKC", k).strip(): v for k, v in aliases.items()})
    lookup.update({k.lower(): v for k, v in list(lookup.items())})
    # Each distinct value is looked up once (a column of a million cells has a handful).
    codes, uniques = pd.factorize(p.values)
    found = [lookup.get(v, lookup.get(str(v).lower())) for v in uniques.to_numpy(dtype=object)]
    if getattr(p.values.dtype, "storage", None) == "pyarrow":
        idx = np.where(codes < 0, len(found), codes)
        mapped = pd.Series(pd.array([*found, None], dtype=p.values.dtype).take(idx),
                           index=p.values.index)
    else:
        mapped = pd.Series(np.array([*found, None], dtype=object)[codes],
                           index=p.values.index).astype("string")
    bad = (~p.empty) & mapped.isna()
    p.reason[bad] = "取值不在允许范围内，应为：" + "、".join(allowed)
    return Parsed(mapped, p.reason, p.empty)


# --- booleans -------------------------------------------------------------------------------

_TRUE = {"是", "y", "yes", "1", "true", "t", "√", "有"}
_FALSE = {"否", "n", "no", "0", "false", "f", "×", "无"}


def parse_bool(s: pd.Series) -> Parsed:
    kinds = _classify(s)
    empty = kinds == "null"
    reason = _reasons(s.index)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    if pd.api.types.is_bool_dtype(s.dtype):
        return Parsed(s.astype("boolean"), reason, empty.astype(bool))
    for kind in ("str", "num", "bool"):
        m = kinds == kind
        if not m.any():
            continue
        if kind == "bool":
            out[m] = s[m].astype(bool)
            continue
        if kind == "num":
            t = s[m].map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
        else:
            t, _ = _text(s[m])
            t = t.str.lower()
        out[m] = t.map(lambda v: True if v in _TRUE else (False if v in _FALSE else None)).astype(
            "boolean"
        )
        bad = m & out.isna()
        reason[bad] = "应为 是/否(也可填 Y/N、1/0、TRUE/FALSE)"
    reason[~(empty | kinds.isin(["str", "num", "bool"]))] = "应为 是/否"
    return Parsed(out, reason, empty.astype(bool))


# --- numbers --------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _numeric(s: pd.Series, kinds: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Float values and a mask of cells that are not numbers at all."""
    out = pd.Series(np.nan, index=s.index, dtype="float64")
    notnum = pd.Series(False, index=s.index)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64"), notnum
    m = kinds == "num"
    if m.any():
        out[m] = s[m].map(_to_float).astype("float64")
    m = kinds == "str"
    if m.any():
        t, _ = _text(s[m])
        # Full-width digits are already half-width (NFKC); thousands separators go.
        t = t.str.replace(",", "", regex=False).str.replace(" ", "", regex=False)
        ok = t.str.match(_NUMBER.pattern).fillna(False).astype(bool)
        if ok.any():
            out[t.index[ok.to_numpy()]] = t[ok].map(_to_float).astype("float64")
        notnum[t.index[~ok.to_numpy()]] = True
    notnum |= ~kinds.isin(["num", "str", "null"])
    return out, notnum


def _to_float(v: object) -> float:
    """A float, or inf for a number too large to hold (so it is reported, not a crash)."""
    try:
        return float(v)
    except OverflowError:
        return float("inf")
    except (TypeError, ValueError):
        return float("nan")


# Larger counts cannot be stored exactly (and no ledger has them): reported as errors.
MAX_EXACT = 2 ** 53


def parse_int(s: pd.Series) -> Parsed:
    kinds = _classify(s)
    empty = (kinds == "null").astype(bool)
    reason = _reasons(s.index)
    f, notnum = _numeric(s, kinds)
    reason[notnum] = "应为整数"
    huge = f.notna() & (f.abs() >= MAX_EXACT)
    reason[huge] = "数值过大"
    frac = f.notna() & ~huge & (f != np.floor(f.where(~huge, 0).fillna(0)))
    reason[frac] = "应为整数，不能有小数"
    vals = f.where(reason.isna() & f.notna())
    return Parsed(vals.round().astype("Int64"), reason, empty)


def parse_number(s: pd.Series) -> Parsed:
    kinds = _classify(s)
    empty = (kinds == "null").astype(bool)
    reason = _reasons(s.index)
    f, notnum = _numeric(s, kinds)
    reason[notnum] = "应为数值"
    huge = f.notna() & (f.abs() >= 1e15)
    reason[huge] = "数值过大"
    notnum = notnum | huge
    return Parsed(f.where(~notnum), reason, empty)


def parse_rate(s: pd.Series) -> Parsed:
    """0.95 or 95% (a percent sign divides by 100)."""
    kinds = _classify(s)
    pct = pd.Series(False, index=s.index)
    if (kinds == "str").any():
        m = kinds == "str"
        t, _ = _text(s[m])
        pct[m] = t.str.endswith("%").fillna(False).astype(bool)
        s = s.copy().astype(object)
        s[m] = t.str.rstrip("%")
    p = parse_number(s)
    vals = p.values.where(~pct, p.values / 100.0)
    return Parsed(vals, p.reason, p.empty)


# --- dates, times and months ----------------------------------------------------------------

_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_DT_RE = (
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\.\d+)?)?$"
)
_MONTH_RE = r"^(?P<y>\d{4})-?(?P<m>\d{1,2})$"


def _normalize_date_text(t: pd.Series) -> pd.Series:
    t = t.str.replace("年", "-", regex=False).str.replace("月", "-", regex=False)
    t = t.str.replace("日", " ", regex=False).str.replace("号", " ", regex=False)
    t = t.str.replace("/", "-", regex=False).str.replace(".", "-", regex=False)
    t = t.str.replace(r"\s+", " ", regex=True).str.strip()
    return t


def _from_parts(parts: pd.DataFrame) -> pd.Series:
    cols = {"year": "y", "month": "m", "day": "d", "hour": "H", "minute": "M", "second": "S"}
    frame = {}
    for name, key in cols.items():
        if key in parts:
            frame[name] = pd.to_numeric(parts[key], errors="coerce").fillna(0 if key in "HMS" else -1)
    f = pd.DataFrame(frame, index=parts.index).astype("int64")
    bad = (f["month"] < 1) | (f["month"] > 12) | (f["day"] < 1) | (f["day"] > 31)
    if {"hour", "minute", "second"} <= set(f):
        bad |= (f["hour"] > 23) | (f["minute"] > 59) | (f["second"] > 59)
    # Harmless stand-ins for the bad rows (they become NaT below), so to_datetime sees no
    # impossible dates.
    filler = {"year": 1970, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
    for col in f.columns:
        f.loc[bad, col] = filler[col]
    f["year"] = f["year"].clip(1, 9999)
    ts = pd.to_datetime(f, errors="coerce")
    ts[bad.to_numpy()] = pd.NaT
    return ts


def _impossible(parts: pd.DataFrame, ts: pd.Series, *, what: str = "日期") -> pd.Series:
    """Why each cell that has the shape of a date (year, month, day[, time]) is still no date
    (2026-11-31, 2026-02-30, 2026-13-01, 25:00), None elsewhere. The analyst wrote a date that
    does not exist, which a 'format not recognised' message would hide."""
    out = pd.Series(np.full(len(parts), None, dtype=object), index=parts.index)
    shaped = parts["y"].notna().to_numpy() & ts.isna().to_numpy()
    for i in np.flatnonzero(shaped):
        row = parts.iloc[i]
        y, m, d = (int(row[k]) if isinstance(row.get(k), str) and row[k] else None
                   for k in ("y", "m", "d"))
        if m is not None and not 1 <= m <= 12:
            out.iloc[i] = f"{what}不存在：没有{m}月(月份应为1–12)"
        elif d is not None and m is not None and y is not None and 1678 <= y <= 2261:
            days = pd.Period(year=y, month=m, freq="M").days_in_month
            if not 1 <= d <= days:
                out.iloc[i] = f"{what}不存在：{month_label(y * 12 + m - 1)}只有{days}天"
            else:
                out.iloc[i] = "时间不存在(时应为0–23，分、秒应为0–59)"
        else:
            out.iloc[i] = f"{what}不存在或超出范围(年份应在1678–2261之间)"
    return out


def _excel_serial(v: pd.Series) -> pd.Series:
    ok = (v >= 1) & (v < 2958466)
    return (_EXCEL_EPOCH + pd.to_timedelta((v.where(ok) * 86400).round(), unit="s")).where(ok)


def _parse_when(s: pd.Series, *, with_time: bool) -> Parsed:
    kinds = _classify(s)
    empty = (kinds == "null").astype(bool)
    reason = _reasons(s.index)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        v = s
        if getattr(v.dt, "tz", None) is not None:
            v = v.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
        out = v.dt.floor("s").astype("datetime64[s]")
    else:
        m = kinds == "dt"
        if m.any():
            out[m] = pd.to_datetime(s[m].map(_to_naive)).dt.floor("s")
        m = kinds == "num"
        if m.any():
            out[m] = _excel_serial(s[m].astype("float64"))
            reason[m & out.isna()] = "数字无法识别为日期(Excel 日期序号应在 1–2958465 之间)"
        m = kinds == "str"
        if m.any():
            raw, _ = _text(s[m])
            t = _normalize_date_text(raw)
            parts = t.str.extract(_DT_RE)
            ts = _from_parts(parts)
            # A bare number in a text cell is an Excel serial that lost its date format (read
            # before normalising, which turns its decimal point into a date separator).
            serial = parts["y"].isna() & raw.str.match(r"^\d{1,7}(\.\d+)?$").fillna(False)
            if serial.any():
                ts[serial.to_numpy()] = _excel_serial(raw[serial].astype("float64"))
            out[m] = ts.to_numpy()
            reason[m & out.isna()] = (
                "日期时间格式无法识别(可用 2026-03-05 14:30、2026/3/5 9:05、2026年3月5日)"
                if with_time else "日期格式无法识别(可用 2026-03-05、2026/3/5、2026年3月5日)"
            )
            if (parts["y"].notna() & ts.isna()).any():
                missing = _impossible(parts, ts)
                reason[missing.index[missing.notna().to_numpy()]] = missing.dropna()
        reason[~(empty | kinds.isin(["dt", "num", "str"]))] = "应为日期"
    if not with_time:
        out = out.dt.normalize()
    return Parsed(out.where(reason.isna()), reason, empty)


def _to_naive(v: object) -> pd.Timestamp:
    ts = pd.Timestamp(v)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Asia/Shanghai").tz_localize(None)
    return ts


def parse_datetime(s: pd.Series) -> Parsed:
    return _parse_when(s, with_time=True)


def parse_date(s: pd.Series) -> Parsed:
    p = _parse_when(s, with_time=False)
    return Parsed(p.values.dt.date.astype(object).where(p.values.notna(), None), p.reason, p.empty)


def parse_month(s: pd.Series) -> Parsed:
    """2026-03, 2026/03, 202603, 2026年3月 (and a full date or Excel date: its month)."""
    kinds = _classify(s)
    empty = (kinds == "null").astype(bool)
    reason = _reasons(s.index)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]")
    m = kinds == "str"
    if m.any() and not pd.api.types.is_datetime64_any_dtype(s.dtype):
        t, _ = _text(s[m])
        t = _normalize_date_text(t).str.rstrip("-")
        parts = t.str.extract(_MONTH_RE)
        parts["d"] = "1"
        ts = _from_parts(parts)
        full = ts.isna().to_numpy() & t.str.match(_DT_RE).fillna(False).to_numpy()
        missing = _impossible(parts, ts, what="月份")
        if full.any():
            full_parts = t[full].str.extract(_DT_RE)
            ts[full] = _from_parts(full_parts).to_numpy()
            missing[full] = _impossible(full_parts, ts[full]).to_numpy()
        out[m] = ts.to_numpy()
        reason[m & out.isna()] = "月份格式无法识别(可用 2026-03、2026/03、202603、2026年3月)"
        if missing.notna().any():
            reason[missing.index[missing.notna().to_numpy()]] = missing.dropna()
    other = ~m & ~empty
    if other.any() and not pd.api.types.is_datetime64_any_dtype(s.dtype):
        # A month typed as the number 202603 is YYYYMM, not an Excel serial (those are < 100000).
        num = pd.to_numeric(s.where(other & (kinds == "num")), errors="coerce")
        yyyymm = num.notna() & (num >= 190001) & (num <= 210012) & (num % 1 == 0) \
            & ((num % 100) >= 1) & ((num % 100) <= 12)
        if yyyymm.any():
            y, mo = (num[yyyymm] // 100).astype(int), (num[yyyymm] % 100).astype(int)
            out[yyyymm] = pd.to_datetime(pd.DataFrame({"year": y, "month": mo, "day": 1}))
            other = other & ~yyyymm
    if other.any():
        p = _parse_when(s.where(other, None), with_time=False)
        out[other] = p.values[other]
        reason[other] = p.reason[other]
    out = out.dt.to_period("M").dt.to_timestamp()
    return Parsed(out.dt.date.astype(object).where(out.notna(), None), reason, empty)


PARSERS = {
    S.CODE: parse_code,
    S.TEXT: parse_text,
    S.BOOL: parse_bool,
    S.INT: parse_int,
    S.NUMBER: parse_number,
    S.RATE: parse_rate,
    S.DATE: parse_date,
    S.DATETIME: parse_datetime,
    S.MONTH: parse_month,
}


def parse_column(s: pd.Series, col: S.Column) -> Parsed:
    if col.kind == S.ENUM:
        return parse_enum(s, col.enum, col.enum_aliases)
    return PARSERS[col.kind](s)


def cell_text(v: object) -> str:
    """A cell as the analyst sees it, for error reports."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, float):
        if np.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    return str(v)
