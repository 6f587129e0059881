"""示例数据: a fictional city (示例市, code prefix 9901) for demos, tests and benchmarks.

``generate_city(seed=..., scale=...)`` returns the tables of the data contract as pandas
DataFrames, deterministic for a given seed and scale. Column names and order are those of the
contract. Value forms:

* codes, ids, names and ``period`` ('YYYY-MM'): pandas ``str`` dtype (Python ``str`` values);
* enums (units.level, org_type, sector, party_org, source, category, satisfaction,
  partner_level, kind, status, targets.metric): ``category`` dtype whose categories are the
  strings of the contract (all of them, used or not) - compact at benchmark scales;
* datetimes and dates: ``datetime64[us]``, naive local time, whole seconds (dates at midnight),
  NaT when empty;
* booleans: pandas ``boolean`` dtype (<NA> when empty); integers ``int64``;
  ``service_hours`` ``float64`` (NaN when empty).

The state is the one an extract taken at ``EXTRACT_AT`` (2026-11-01 00:00:00) would show.
Nothing about residents is generated: no person names, phone numbers or ID numbers.

All per-row work is vectorized numpy/pyarrow, so ``scale=33`` (~10M work orders, ~8M ledger
rows) stays within a couple of minutes and a few GB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metrics.contract import schema as S
from metrics.contract.credit_code import BYTE_VALUE, CHARSET_BYTES, check_digit_bytes

__all__ = [
    "EXTRACT_AT",
    "CITY_NAME",
    "CITY_PREFIX",
    "COLUMNS",
    "generate_city",
]

CITY_NAME = "示例市"
CITY_PREFIX = "9901"
EXTRACT_AT = pd.Timestamp("2026-11-01 00:00:00")

# Column order and the enums as the contract has them (metrics.contract.schema), so the demo
# city passes validation by construction.
COLUMNS: dict[str, list[str]] = {name: table.names for name, table in S.TABLES.items()}

LEVELS = list(S.LEVELS)
ORG_TYPES = list(S.ORG_TYPES)
SECTORS = list(S.SECTORS)
PARTY_ORGS = list(S.PARTY_ORG)
SOURCES = list(S.SOURCES)
SATISFACTION = list(S.SATISFACTION)
PARTNER_LEVELS = list(S.PARTNER_LEVELS)
PROJECT_KINDS = list(S.PROJECT_KINDS)
PROJECT_STATUSES = list(S.PROJECT_STATUS)
RATE_METRICS = list(S.RATE_METRICS)
TASK_KINDS = list(S.TASK_KINDS)

# ---------------------------------------------------------------- small vectorized helpers

def _digits(x: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 ASCII decimal digits of non-negative integers, zero padded."""
    x = np.asarray(x, dtype=np.int64)
    out = np.empty((x.size, width), dtype=np.uint8)
    for k in range(width - 1, -1, -1):
        out[:, k] = (x % 10 + 48).astype(np.uint8)
        x = x // 10
    return out


def _ascii_strings(mat: np.ndarray) -> pa.Array:
    """An arrow string array from an (n, w) uint8 ASCII matrix (one fixed-width string per row)."""
    mat = np.ascontiguousarray(mat, dtype=np.uint8)
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat))


def _take(labels, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Plain strings labels[idx] (null where mask) as an arrow array."""
    dictionary = labels if isinstance(labels, pa.Array) else pa.array(list(labels), pa.large_string())
    indices = pa.array(np.asarray(idx, dtype=np.int32), mask=mask)
    return dictionary.take(indices)


def _enum(labels: list[str], idx: np.ndarray, mask: np.ndarray | None = None) -> pd.Categorical:
    """A categorical with every label of the enum as a category (missing where mask)."""
    codes = np.asarray(idx).astype(np.int8 if len(labels) < 128 else np.int32)
    if mask is not None:
        codes[mask] = -1
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(labels))


def _timestamps(seconds: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """datetime64[us] from int64 seconds since the epoch (naive local time), NaT where mask.

    An int64 input array is converted in place (the caller must not use it afterwards).
    """
    us = np.asarray(seconds)
    if us.dtype == np.int64:
        us *= 1_000_000
    else:
        us = np.multiply(us, 1_000_000, dtype=np.int64)
    if mask is not None:
        us[mask] = np.iinfo(np.int64).min          # NaT
    return us.view("datetime64[us]")


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """datetime64[us] at midnight from int64 days since the epoch, NaT where mask."""
    return _timestamps(np.asarray(days, dtype=np.int64) * 86_400, mask)


def _bools(values: np.ndarray, mask: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    values = np.asarray(values, dtype=bool)
    if mask is None:
        mask = np.zeros(values.shape, dtype=bool)
    return pd.arrays.BooleanArray(values, np.asarray(mask, dtype=bool))


_STR = pd.StringDtype("pyarrow", na_value=np.nan)     # pandas' default "str" dtype


def _frame(columns: dict) -> pd.DataFrame:
    """A DataFrame without copies; arrow string arrays become pandas "str" columns."""
    out = {}
    for name in list(columns):
        value = columns.pop(name)
        if isinstance(value, pa.Array):
            if value.type == pa.string():
                value = value.cast(pa.large_string())
            value = pd.array(value, dtype=_STR)
        out[name] = value
    return pd.DataFrame(out, copy=False)


def _day(s: str) -> int:
    return int(np.datetime64(s, "D").astype(np.int64))


def _months(first: str, count: int) -> list[str]:
    start = np.datetime64(first, "M")
    return [str(start + k) for k in range(count)]


def _allocate(total: int, weights: np.ndarray, minimum: int = 1) -> np.ndarray:
    """Integers >= minimum summing to total, proportional to weights (largest remainders)."""
    weights = np.asarray(weights, dtype=float)
    n = weights.size
    rest = total - minimum * n
    if rest < 0:
        raise ValueError("total too small for the minimum")
    share = rest * weights / weights.sum()
    base = np.floor(share).astype(np.int64)
    left = rest - base.sum()
    order = np.argsort(-(share - base), kind="stable")
    base[order[:left]] += 1
    return base + minimum


def _rank_within(groups: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each element by descending score inside its group, and the group's size."""
    order = np.lexsort((-score, groups))
    g_sorted = groups[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    sizes = np.diff(np.r_[starts, g_sorted.size])
    run = np.repeat(starts, sizes)
    rank = np.empty(groups.size, dtype=np.int64)
    rank[order] = np.arange(groups.size) - run
    size = np.empty(groups.size, dtype=np.int64)
    size[order] = np.repeat(sizes, sizes)
    return rank, size


def _pick(rng: np.random.Generator, cum: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Draw category indices from per-group cumulative probabilities (cum[group] rows)."""
    u = rng.random(group.size)
    out = np.zeros(group.size, dtype=np.int8)
    for k in range(cum.shape[1] - 1):
        out += (u >= cum[group, k]).astype(np.int8)
    return out


def _choice(rng: np.random.Generator, n: int, probs) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return rng.choice(p.size, size=n, p=p / p.sum()).astype(np.int8)


# ---------------------------------------------------------------- names

_PLACE_A = list("东西南北中金银玉青龙凤华文安宁和平福寿长永兴盛泰康明光锦绣桃梅兰竹松柏云霞翠春丰乐仁德荷蓉杏枫樱晨阳星月")
_PLACE_B = list("湖山城塘园苑林湾港坊桥门亭阁岗洲河溪岭坡田井埠堤滨峰里庭街院台池泽")
_VILLAGE_A = list("李王张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文")
_VILLAGE_B = list("庄岗集湾店桥圩营塘坝楼寨铺郢洼墩冲")
_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]

DISTRICT_SPECS = [
    # code suffix, name, relative street weight, share of towns (镇)
    ("02", "东湖区", 10, 0.0),
    ("03", "西山区", 8, 0.25),
    ("04", "南城区", 9, 0.0),
    ("05", "北塘区", 8, 0.0),
    ("06", "青云区", 8, 0.13),
    ("07", "临江区", 10, 0.0),
    ("71", "高新区", 7, 0.0),
]


_PAIRS: dict[tuple[str, str], list[str]] = {}


def _place_names(rng: np.random.Generator, first: list[str], second: list[str], n: int,
                 taken: set[str] | None = None) -> list[str]:
    """n distinct two-character place names (with a numeral once the pairs run out)."""
    key = ("".join(first), "".join(second))
    if key not in _PAIRS:
        _PAIRS[key] = [a + b for a in first for b in second if a != b]
    pairs = _PAIRS[key]
    perm = rng.permutation(len(pairs))
    taken = set() if taken is None else taken
    out: list[str] = []
    k = 0
    while len(out) < n:
        base = pairs[perm[k % len(pairs)]]
        rnd = k // len(pairs)
        name = base if rnd == 0 else base + (_NUMERALS[rnd - 1] if rnd <= 10 else str(rnd))
        k += 1
        if name in taken:
            continue
        taken.add(name)
        out.append(name)
    return out


def _grid_name(k: int) -> str:
    if k <= 10:
        return f"第{_NUMERALS[k - 1]}网格"
    tens, ones = divmod(k, 10)
    return f"第{'' if tens == 1 else _NUMERALS[tens - 1]}十{_NUMERALS[ones - 1] if ones else ''}网格"


# ---------------------------------------------------------------- units

class _Units:
    """Index arrays describing the hierarchy (shared by every generated table)."""

    def __init__(self, rng: np.random.Generator, scale: float):
        n_districts = int(min(7, max(2, round(7 * scale * 4))))
        specs = DISTRICT_SPECS[:n_districts]
        self.d_codes = [CITY_PREFIX + s[0] for s in specs]
        self.d_names = [s[1] for s in specs]

        n_streets_total = max(n_districts, int(round(60 * scale)))
        per_district = _allocate(n_streets_total, np.array([s[2] for s in specs], float))
        street_names = _place_names(rng, _PLACE_A, _PLACE_B, n_streets_total,
                                    taken={n[:2] for n in self.d_names})
        s_codes, s_names, s_district, s_town = [], [], [], []
        k = 0
        for d, (spec, count) in enumerate(zip(specs, per_district)):
            towns = int(round(count * spec[3]))
            streets = count - towns
            for j in range(count):
                is_town = j >= streets
                if is_town:
                    number = (100 if streets < 100 else streets + 1) + (j - streets) + 1
                else:
                    number = j + 1
                s_codes.append(f"{self.d_codes[d]}{number:03d}")
                s_names.append(street_names[k] + ("镇" if is_town else "街道"))
                s_district.append(d)
                s_town.append(is_town)
                k += 1
        self.s_codes, self.s_names = s_codes, s_names
        self.s_district = np.array(s_district, dtype=np.int64)
        self.s_town = np.array(s_town, dtype=bool)
        n_s = len(s_codes)

        n_comm_total = max(n_s, int(round(500 * scale)))
        weight = rng.lognormal(0.0, 0.25, n_s) * np.where(self.s_town, 1.3, 1.0)
        per_street = _allocate(n_comm_total, weight)
        n_village = np.where(self.s_town, np.maximum(per_street - 2, 0), 0)
        n_comm = per_street - n_village
        # names are unique within a district: draw each district's names in one batch
        pools: dict[int, tuple[list[str], list[str]]] = {}
        for d in range(n_districts):
            sel = self.s_district == d
            taken: set[str] = set()
            pools[d] = (_place_names(rng, _PLACE_A, _PLACE_B, int(n_comm[sel].sum()), taken),
                        _place_names(rng, _VILLAGE_A, _VILLAGE_B, int(n_village[sel].sum()), taken))
        used = {d: [0, 0] for d in range(n_districts)}
        c_codes, c_names, c_street, c_village = [], [], [], []
        for s in range(n_s):
            d = int(self.s_district[s])
            comm_pool, village_pool = pools[d]
            for j in range(int(n_comm[s])):
                c_codes.append(f"{s_codes[s]}{j + 1:03d}")
                c_names.append(comm_pool[used[d][0]] + "社区")
                used[d][0] += 1
                c_street.append(s)
                c_village.append(False)
            for j in range(int(n_village[s])):
                c_codes.append(f"{s_codes[s]}{200 + j + 1:03d}")
                c_names.append(village_pool[used[d][1]] + "村")
                used[d][1] += 1
                c_street.append(s)
                c_village.append(True)
        self.c_codes, self.c_names = c_codes, c_names
        self.c_street = np.array(c_street, dtype=np.int64)
        self.c_village = np.array(c_village, dtype=bool)
        self.c_district = self.s_district[self.c_street]
        n_c = len(c_codes)
        # households-like size of each community (drives issues, organizations, activities)
        self.c_size = rng.lognormal(0.0, 0.45, n_c) * np.where(self.c_village, 0.45, 1.0)

        self.c_grid_count = rng.integers(3, 9, n_c)
        self.c_grid_count = np.clip(
            np.round(self.c_grid_count * (0.75 + 0.25 * np.sqrt(self.c_size))), 3, 8
        ).astype(np.int64)
        self.c_grid_start = np.r_[0, np.cumsum(self.c_grid_count)[:-1]]
        g_codes, g_names, g_comm = [], [], []
        for c in range(n_c):
            for j in range(int(self.c_grid_count[c])):
                g_codes.append(f"{c_codes[c]}{j + 1:03d}")
                g_names.append(_grid_name(j + 1))
                g_comm.append(c)
        self.g_codes, self.g_names = g_codes, g_names
        self.g_comm = np.array(g_comm, dtype=np.int64)

        self.c_codes_pa = pa.array(c_codes, pa.large_string())
        self.g_codes_pa = pa.array(g_codes, pa.large_string())

    def frame(self) -> pd.DataFrame:
        codes = self.d_codes + self.s_codes + self.c_codes + self.g_codes
        names = self.d_names + self.s_names + self.c_names + self.g_names
        level = np.repeat(np.arange(4), [len(self.d_codes), len(self.s_codes),
                                         len(self.c_codes), len(self.g_codes)])
        parents = ([None] * len(self.d_codes)
                   + [self.d_codes[d] for d in self.s_district]
                   + [self.s_codes[s] for s in self.c_street]
                   + [self.c_codes[c] for c in self.g_comm])
        return _frame({
            "code": pa.array(codes, pa.large_string()),
            "name": pa.array(names, pa.large_string()),
            "level": _enum(LEVELS, level),
            "parent_code": pa.array(parents, pa.large_string()),
        })


def _lagging(rng: np.random.Generator, u: _Units, share: float = 0.045) -> np.ndarray:
    """Indices of the streets that clearly lag (two or three in the demo city)."""
    n_s = len(u.s_codes)
    n_lag = max(1, int(round(share * n_s)))
    candidates = np.flatnonzero(~u.s_town) if (~u.s_town).sum() > n_lag else np.arange(n_s)
    return np.sort(rng.choice(candidates, size=n_lag, replace=False))


# ---------------------------------------------------------------- organizations

ORG_PERIODS = _months("2025-11", 12)

_BRAND_A = list("华恒鼎瑞嘉宏金博睿启天中正德信诚和安永顺汇众联新卓优佳锦凯盛昌泰")
_BRAND_B = list("兴泰盛丰禾远诚达通源辉宇航创科信邦联润洋晟铭越")
_INDUSTRIES = {  # by sector; the lists are disjoint so names stay unique across sectors
    "商务楼宇": ["企业管理咨询", "信息咨询", "文化传媒", "广告", "人力资源服务", "财务咨询",
             "投资管理", "商务服务", "会展服务", "知识产权代理", "建筑设计"],
    "商圈市场": ["商贸", "百货", "餐饮管理", "超市", "食品", "服饰", "家居", "农产品市场管理",
             "珠宝", "烘焙"],
    "产业园区": ["新材料", "电子", "机械制造", "精密制造", "生物医药", "新能源", "汽车零部件",
             "智能装备", "光电", "环保设备"],
    "互联网企业": ["网络科技", "信息技术", "软件", "数据科技", "电子商务", "智能科技", "云计算",
              "数字科技"],
    "新就业群体": ["物流", "快递服务", "配送服务", "网约车服务", "同城配送", "货运代理",
              "即时配送", "跑腿服务"],
    "其他": ["建筑工程", "物业服务", "装饰工程", "家政服务", "酒店管理", "教育咨询", "健康管理",
           "汽车服务"],
}
_ENTERPRISE_REGIONS = ["示例", "示例市"]
_ENTERPRISE_SUFFIX = ["有限公司", "有限责任公司", "股份有限公司"]
_SOCIAL_KINDS = {  # by the second character of the credit code
    "1": ["协会", "商会", "联合会", "促进会", "研究会"],
    "2": ["社会工作服务中心", "养老服务中心", "培训学校", "幼儿园", "康复中心", "青少年服务中心",
          "文化艺术中心", "社区服务中心", "志愿服务中心"],
    "3": ["慈善基金会", "教育基金会"],
}


def _org_names(rng, is_social, sector, social_kind, district, d_names) -> pa.Array:
    """Plausible and (up to very large scales) unique organization names, vectorized."""
    n = is_social.size
    brands = [a + b for a in _BRAND_A for b in _BRAND_B if a != b]
    n_br = len(brands)
    # group: enterprises by sector (0..5), social organizations by kind (6..8)
    group = np.where(is_social, 6 + social_kind, sector).astype(np.int64)
    rank, _ = _rank_within(group, rng.random(n))
    regions_idx = np.zeros(n, dtype=np.int64)
    brand_idx = np.zeros(n, dtype=np.int64)
    word_idx = np.zeros(n, dtype=np.int64)
    words: list[str] = []
    region_labels = _ENTERPRISE_REGIONS + [CITY_NAME + d for d in d_names]
    n_ent_regions = len(_ENTERPRISE_REGIONS)
    for g in range(9):
        sel = group == g
        if not sel.any():
            continue
        if g < 6:
            gw = _INDUSTRIES[SECTORS[g]]
            n_reg = n_ent_regions
        else:
            gw = _SOCIAL_KINDS[str(g - 5)]
            n_reg = 1 + len(d_names)  # 示例市 or 示例市XX区
        size = n_reg * n_br * len(gw)
        perm = rng.permutation(size)
        k = perm[rank[sel] % size]
        r = k % n_reg
        k //= n_reg
        brand_idx[sel] = k % n_br
        w = k // n_br
        if g < 6:
            regions_idx[sel] = r
        else:  # social organizations: 示例市 (r == 0) or 示例市 + their district
            regions_idx[sel] = np.where(r == 0, 1, n_ent_regions + district[sel])
        word_idx[sel] = len(words) + w
        words.extend(gw)
    suffix_idx = rng.choice(3, size=n, p=[0.8, 0.16, 0.04])
    suffix = _take(_ENTERPRISE_SUFFIX + [""], np.where(is_social, 3, suffix_idx))
    return pc.binary_join_element_wise(
        _take(region_labels, regions_idx), _take(brands, brand_idx), _take(words, word_idx),
        suffix, pa.scalar("", pa.large_string()),
    )


def _organizations(rng: np.random.Generator, u: _Units, scale: float):
    n_c = len(u.c_codes)
    n_s = len(u.s_codes)
    n_base = max(40, int(round(20000 * scale * 0.94)))
    n_new = max(4, int(round(20000 * scale * 0.10)))
    n = n_base + n_new
    is_new = np.zeros(n, dtype=bool)
    is_new[n_base:] = True

    weight = u.c_size * np.where(u.c_village, 0.5, 1.0) * rng.lognormal(0.0, 0.6, n_c)
    comm = rng.choice(n_c, size=n, p=weight / weight.sum())
    street = u.c_street[comm]
    district = u.c_district[comm]
    hightech = np.array([name == "高新区" for name in u.d_names])[district]

    is_social = rng.random(n) < 0.25
    social_kind = np.where(is_social, _choice(rng, n, [0.42, 0.53, 0.05]), 0).astype(np.int64)
    sector_p = np.array([
        [0.25, 0.22, 0.15, 0.07, 0.08, 0.23],   # enterprise
        [0.12, 0.10, 0.45, 0.20, 0.05, 0.08],   # enterprise in 高新区
        [0.15, 0.08, 0.04, 0.03, 0.05, 0.65],   # social organization
    ])
    sector = _pick(rng, np.cumsum(sector_p, axis=1), np.where(is_social, 2, hightech.astype(int)))

    operating = rng.random(n) >= 0.035
    med = np.where(is_social, 7.0, 14.0) * np.where(sector == 4, 3.0, 1.0)
    employees = np.rint(med * rng.lognormal(0.0, 1.15, n)).astype(np.int64)
    employees = np.clip(employees, 1, 30000)
    employees = np.where(operating, employees, rng.integers(0, 3, n))
    rate = rng.beta(1.3, 22.0, n)
    party_members = rng.binomial(employees, rate).astype(np.int64)
    bad_pm = rng.choice(n, size=max(1, n // 2500), replace=False)
    party_members[bad_pm] = employees[bad_pm] + rng.integers(1, 4, bad_pm.size)  # 填报错误

    # existence over the 12 monthly snapshots
    start = np.where(is_new, rng.integers(1, 12, n), 0)
    gone = (~is_new) & (rng.random(n) < 0.03)
    end = np.where(gone, rng.integers(0, 11, n), 11)

    # per-street coverage curves: organisation coverage and work coverage, p = 0..11
    lag = _lagging(rng, u)
    d_eff = rng.normal(0.0, 0.06, len(u.d_codes))
    c0 = np.clip(0.52 + d_eff[u.s_district] + rng.normal(0.0, 0.05, n_s), 0.35, 0.8)
    rise = np.clip(0.20 + rng.normal(0.0, 0.03, n_s), 0.1, 0.3)
    c0[lag] = np.clip(c0[lag] - 0.21, 0.2, None)
    rise[lag] = 0.09 + rng.uniform(0.0, 0.03, lag.size)
    frac = (np.arange(12) / 11.0) ** 0.85
    cov = np.minimum(c0[:, None] + rise[:, None] * frac[None, :], 0.97)
    w0 = c0 + 0.15 + rng.normal(0.0, 0.02, n_s)
    w1 = np.minimum(c0 + rise + 0.135 + rng.normal(0.0, 0.02, n_s), 0.97)
    w0[lag] = c0[lag] + 0.13
    w1[lag] = w0[lag] + 0.11
    work = w0[:, None] + (w1 - w0)[:, None] * frac[None, :]
    instr_share = np.clip((work - cov) / (1.0 - cov), 0.0, 1.0)
    instr_share = np.maximum.accumulate(instr_share, axis=1)

    sector_bonus = np.array([0.3, -0.1, 0.2, -0.3, -0.2, 0.0])
    score = (1.1 * np.log1p(employees) + 2.0 * (party_members >= 1) + 3.5 * (party_members >= 3)
             + sector_bonus[sector] - 0.8 * is_new + rng.normal(0.0, 1.0, n))
    score = np.where(operating, score, -1e9)
    rank, size = _rank_within(street, score)
    q = (rank + 0.5) / size
    built_from = (cov[street] <= q[:, None]).sum(axis=1)        # 12 = not within the year
    built_from = np.where(operating, built_from, 12)
    v = rng.random(n)
    instr_from = (instr_share[street] <= v[:, None]).sum(axis=1)
    instr_from = np.where(operating, instr_from, np.where(rng.random(n) < 0.1, 0, 12))
    sa_p = np.clip(0.84 + rng.normal(0.0, 0.04, len(u.d_codes))[u.s_district]
                   + rng.normal(0.0, 0.05, n_s), 0.6, 0.99)
    sa_p[lag] = 0.62
    standalone = (party_members >= 3) & (rng.random(n) < sa_p[street])

    # credit codes: 9 1 (enterprise) / 5 1|2|3 (social) + district code + 9-char body + check
    body = np.empty((n, 17), dtype=np.uint8)
    body[:, 0] = np.where(is_social, ord("5"), ord("9"))
    body[:, 1] = np.where(is_social, ord("1") + social_kind, ord("1"))
    d_digits = np.frombuffer("".join(u.d_codes).encode(), np.uint8).reshape(-1, 6)
    body[:, 2:8] = d_digits[district]
    perm = rng.permutation(n).astype(np.int64)
    modern = rng.random(n) < 0.72
    x = (1_000_003 * perm + 12_345_678) % (31 ** 7)
    chars = np.empty((n, 7), dtype=np.uint8)
    for k in range(6, -1, -1):
        chars[:, k] = CHARSET_BYTES[x % 31]
        x //= 31
    legacy = _digits((7_654_321 * perm + 98_765) % 10 ** 9, 9)
    body[:, 8:17] = legacy
    body[modern, 8] = ord("M")
    body[modern, 9] = ord("A")
    body[modern, 10:17] = chars[modern]
    codes = np.empty((n, 18), dtype=np.uint8)
    codes[:, :17] = body
    check = check_digit_bytes(body)
    bad = rng.choice(n, size=max(2, n // 1000), replace=False)   # planted wrong check digits
    wrong = BYTE_VALUE[check[bad]] + rng.integers(1, 31, bad.size)
    check[bad] = CHARSET_BYTES[wrong % 31]
    codes[:, 17] = check
    org_ids = _ascii_strings(codes)
    names = _org_names(rng, is_social, sector, social_kind, district, u.d_names)

    # expand to one row per organization per period (rows grouped by period)
    parts = [np.flatnonzero((start <= p) & (end >= p)).astype(np.int32) for p in range(12)]
    row_org = np.concatenate(parts)
    row_p = np.repeat(np.arange(12, dtype=np.int8), [len(x) for x in parts])
    del parts
    party_org = np.where(built_from[row_org] <= row_p,
                         np.where(standalone[row_org], 0, 1), 2).astype(np.int8)
    take = pa.array(row_org)
    frame = _frame({
        "period": _take(ORG_PERIODS, row_p),
        "org_id": org_ids.take(take),
        "org_name": names.take(take),
        "org_type": _enum(ORG_TYPES, is_social[row_org]),
        "sector": _enum(SECTORS, sector[row_org]),
        "community_code": _take(u.c_codes_pa, comm[row_org]),
        "employees": employees[row_org],
        "party_members": party_members[row_org],
        "party_org": _enum(PARTY_ORGS, party_org),
        "instructor": _bools(instr_from[row_org] <= row_p),
        "operating": _bools(operating[row_org]),
    })
    return frame, lag


# ---------------------------------------------------------------- issues

ISSUE_FIRST_DAY = "2024-11-01"
ISSUE_DAYS = 730  # 2024-11-01 .. 2026-10-31
CATEGORIES = [
    # name, weight, time limit (days), summer amplitude
    ("物业管理", 0.17, 7, 0.05),
    ("停车管理", 0.09, 5, -0.05),
    ("环境卫生", 0.14, 3, 0.20),
    ("市容秩序", 0.10, 3, 0.10),
    ("噪音扰民", 0.07, 3, 0.45),
    ("矛盾纠纷", 0.08, 15, 0.0),
    ("房屋安全", 0.04, 7, 0.15),
    ("市政设施", 0.09, 7, 0.10),
    ("绿化养护", 0.05, 7, 0.40),
    ("消防安全", 0.04, 3, -0.30),
    ("食品安全", 0.03, 5, 0.15),
    ("劳动保障", 0.04, 15, -0.45),
    ("其他", 0.06, 7, 0.0),
]
_SPRING_FESTIVALS = ["2025-01-29", "2026-02-17"]
_HOUR_WEIGHTS = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 3.2, 3.3, 3.0,
                          2.0, 2.2, 3.0, 3.1, 2.9, 2.5, 1.8, 1.5, 1.3, 1.0, 0.7, 0.45])


def _day_weights() -> np.ndarray:
    first = _day(ISSUE_FIRST_DAY)
    days = np.arange(ISSUE_DAYS)
    absolute = first + days
    dates = absolute.astype("datetime64[D]")
    doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    season = 1.0 + 0.22 * np.cos(2 * np.pi * (doy - 200) / 365.25)
    weekday = (absolute + 3) % 7                        # 0 = Monday
    week = np.where(weekday >= 5, 0.8, 1.0)
    holiday = np.ones(ISSUE_DAYS)
    for sf in _SPRING_FESTIVALS:
        d = _day(sf) - first
        holiday *= 1.0 - 0.55 * np.exp(-0.5 * ((days - d - 2) / 4.5) ** 2)
    for year in (2025, 2026):                             # 国庆
        d = _day(f"{year}-10-01") - first
        holiday *= np.where((days >= d) & (days < d + 7), 0.8, 1.0)
    trend = 1.0 + 0.08 * days / ISSUE_DAYS
    w = season * week * holiday * trend
    return w / w.sum()


def _issues(rng: np.random.Generator, u: _Units, scale: float) -> pd.DataFrame:
    n = max(100, int(round(300_000 * scale)))
    first = _day(ISSUE_FIRST_DAY)

    counts = rng.multinomial(n, _day_weights())
    if counts.max() > 999_999:
        raise ValueError("scale too large: more than 999,999 orders a day")
    day = np.repeat(np.arange(ISSUE_DAYS, dtype=np.int32), counts)
    hour = np.repeat(np.arange(24, dtype=np.int32),
                     rng.multinomial(n, _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()))
    rng.shuffle(hour)
    reported = (first + day.astype(np.int64)) * 86_400
    reported += hour * 3600 + rng.integers(0, 3600, n, dtype=np.int32)
    del hour
    reported.sort()                      # days stay in place; times sorted within each day

    # issue_id = "GD" + yyyymmdd + 6-digit sequence of the day, packed as two uint64 words
    dates = np.datetime64(ISSUE_FIRST_DAY) + np.arange(ISSUE_DAYS)
    text = np.frombuffer("".join("GD" + str(d).replace("-", "") for d in dates).encode(),
                         np.uint8).reshape(-1, 10)
    head = np.ascontiguousarray(text[:, :8]).view("<u8").ravel()            # "GDyyyymm"
    dd = text[:, 8].astype(np.uint64) | (text[:, 9].astype(np.uint64) << np.uint64(8))
    triple = _digits(np.arange(1000), 3).astype(np.uint64)
    triple = triple[:, 0] | (triple[:, 1] << np.uint64(8)) | (triple[:, 2] << np.uint64(16))
    day_start = np.r_[0, np.cumsum(counts)[:-1]]
    seq = np.arange(1, n + 1, dtype=np.int64) - day_start[day]
    words = np.empty((n, 2), dtype="<u8")
    words[:, 0] = np.repeat(head, counts)
    words[:, 1] = (np.repeat(dd, counts) | (triple[seq // 1000] << np.uint64(16))
                   | (triple[seq % 1000] << np.uint64(40)))
    del seq
    issue_id = _ascii_strings(words.view(np.uint8).reshape(n, 16))
    del words

    t = (day / np.float32(ISSUE_DAYS - 1)).astype(np.float32) - np.float32(0.5)   # -0.5 .. 0.5
    del day
    month_of_day = dates.astype("datetime64[M]")
    month_counts = np.bincount((month_of_day - month_of_day[0]).astype(np.int64), weights=counts)
    month_bounds = np.r_[0, np.cumsum(month_counts).astype(np.int64)]
    calendar_month = np.unique(month_of_day).astype(np.int64) % 12                # 0 = January

    comm = np.repeat(np.arange(len(u.c_codes), dtype=np.int32),
                     rng.multinomial(n, u.c_size / u.c_size.sum()))
    rng.shuffle(comm)

    # categories with a seasonal mix (month-dependent probabilities)
    base = np.array([c[1] for c in CATEGORIES])
    amp = np.array([c[3] for c in CATEGORIES])
    m = np.arange(12)
    summer = np.cos(2 * np.pi * (m - 6) / 12.0)                     # +1 in July
    probs = base[None, :] * (1.0 + amp[None, :] * summer[:, None])
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1).astype(np.float32)
    uc = rng.random(n, dtype=np.float32)
    category = np.empty(n, dtype=np.int8)
    for k, cal in enumerate(calendar_month):      # orders are sorted by time: one slice a month
        lo, hi = month_bounds[k], month_bounds[k + 1]
        category[lo:hi] = np.minimum(np.searchsorted(cum[cal, :-1], uc[lo:hi], side="right"),
                                     len(CATEGORIES) - 1)
    del uc

    # performance: districts clearly differ, a few streets lag, communities vary a little
    n_s = len(u.s_codes)
    n_d = len(u.d_codes)
    z_d = rng.permutation(np.linspace(-1.8, 0.8, n_d)) if n_d > 1 else np.zeros(1)
    z_s = rng.normal(0.0, 0.6, n_s) + z_d[u.s_district]
    lag = _lagging(rng, u)
    z_s[lag] = -3.0 + rng.normal(0.0, 0.3, lag.size)
    z_c = (z_s[u.c_street] + rng.normal(0.0, 0.3, len(u.c_codes))).astype(np.float32)

    # the rest is row by row: chunks keep the temporaries small at benchmark scales
    out = {
        "source": np.empty(n, np.int8), "grid": np.empty(n, np.int32),
        "no_grid": np.empty(n, bool), "due": np.empty(n, np.int64),
        "responded": np.empty(n, np.int64), "no_resp": np.empty(n, bool),
        "closed": np.empty(n, np.int64), "not_closed": np.empty(n, bool),
        "resolved": np.empty(n, bool), "no_resolved": np.empty(n, bool),
        "satisfaction": np.empty(n, np.int8), "no_satisfaction": np.empty(n, bool),
    }
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        _issue_rows(rng, u, out, slice(lo, hi), reported[lo:hi], t[lo:hi], comm[lo:hi],
                    category[lo:hi], z_c)
    del t

    columns = {"issue_id": issue_id}
    columns["community_code"] = _take(u.c_codes_pa, comm)
    del comm
    columns["grid_code"] = _take(u.g_codes_pa, out.pop("grid"), mask=out.pop("no_grid"))
    columns["source"] = _enum(SOURCES, out.pop("source"))
    columns["category"] = _enum([c[0] for c in CATEGORIES], category)
    columns["reported_at"] = _timestamps(reported)
    columns["due_at"] = _timestamps(out.pop("due"))
    columns["responded_at"] = _timestamps(out.pop("responded"), mask=out.pop("no_resp"))
    columns["closed_at"] = _timestamps(out.pop("closed"), mask=out.pop("not_closed"))
    columns["resolved"] = _bools(out.pop("resolved"), out.pop("no_resolved"))
    columns["satisfaction"] = _enum(SATISFACTION, out.pop("satisfaction"),
                                    mask=out.pop("no_satisfaction"))
    return _frame(columns)


_CHUNK = 1 << 20
_LIMIT_SECONDS = np.array([c[2] for c in CATEGORIES], dtype=np.int64) * 86_400
_HARD = np.isin(np.arange(len(CATEGORIES)), [5, 6, 11]).astype(np.float32)  # 矛盾纠纷 房屋安全 劳动保障


def _issue_rows(rng: np.random.Generator, u: _Units, out: dict, sl: slice, reported: np.ndarray,
                t: np.ndarray, comm: np.ndarray, category: np.ndarray, z_c: np.ndarray) -> None:
    """Source, grid, deadlines, response, closing and 回访 for one chunk of orders."""
    n = reported.size
    extract = _day(str(EXTRACT_AT.date())) * 86_400
    source = _choice(rng, n, [0.45, 0.35, 0.08, 0.08, 0.04])
    out["source"][sl] = source
    p_grid = np.array([1.0, 0.15, 0.6, 0.45, 0.5], dtype=np.float32)
    out["no_grid"][sl] = rng.random(n, dtype=np.float32) >= p_grid[source]
    out["grid"][sl] = u.c_grid_start[comm] + (rng.random(n) * u.c_grid_count[comm]).astype(np.int64)
    due = reported + _LIMIT_SECONDS[category]
    out["due"][sl] = due
    hard = _HARD[category]
    z = z_c[comm]

    # first response: mostly within hours, some after 24 h, a few never
    p_late_resp = np.clip(0.05 - 0.03 * z - 0.03 * t, 0.003, 0.3)
    ur = rng.random(n, dtype=np.float32)
    quick = rng.standard_normal(n, dtype=np.float32)               # log-normal, median 1.5 h
    quick *= np.float32(1.1)
    np.exp(quick, out=quick)
    quick = np.clip(quick * np.float32(1.5 * 3600), 60, 23.5 * 3600)
    slow = rng.standard_exponential(n, dtype=np.float32) * np.float32(20 * 3600) + (24 * 3600 + 60)
    responded = reported + np.where(ur < p_late_resp, slow, quick).astype(np.int64)
    no_resp = ur >= np.float32(1.0 - 0.004)
    del quick, slow, ur, p_late_resp

    # closing: mostly on time, some late, a few never; nothing at or after the extract
    p_on_time = np.clip(0.90 + 0.03 * z + 0.06 * t - 0.04 * hard, 0.5, 0.995)
    p_never = np.clip(0.013 - 0.013 * z, 0.002, 0.08)
    uclose = rng.random(n, dtype=np.float32)
    limit = (due - reported).astype(np.float32)
    # on time: a Kumaraswamy(1.3, 3) share of the time limit (mostly early, beta-like)
    early = 1.0 - rng.random(n, dtype=np.float32)
    early **= np.float32(1 / 3.0)
    early = (1.0 - early) ** np.float32(1 / 1.3) * limit
    late = (rng.standard_exponential(n, dtype=np.float32) * np.float32(0.7) * np.exp(-0.3 * z)
            + 1.0) * limit + 3600
    closed = reported + np.maximum(np.where(uclose < p_on_time, early, late), 600).astype(np.int64)
    del early, late, limit
    is_late = uclose >= p_on_time
    not_closed = (uclose >= 1.0 - p_never) | (closed >= extract)
    del uclose, p_on_time, p_never
    # the first response happens at the latest at closing
    responded = np.where(not_closed, responded, np.minimum(responded, closed))
    out["responded"][sl] = responded
    out["no_resp"][sl] = (no_resp & not_closed) | (responded >= extract)
    out["closed"][sl] = closed
    out["not_closed"][sl] = not_closed

    # 回访 (resolved, satisfaction): only for closed orders
    p_resolved = np.clip(0.875 + 0.035 * z + 0.06 * t - 0.12 * is_late - 0.05 * hard, 0.3, 0.99)
    is_resolved = rng.random(n, dtype=np.float32) < p_resolved
    out["resolved"][sl] = is_resolved
    out["no_resolved"][sl] = not_closed | (rng.random(n, dtype=np.float32) >= 0.86)
    p_sat = np.where(is_resolved,
                     np.clip(0.955 + 0.02 * z + 0.04 * t - 0.08 * is_late, 0.4, 0.995),
                     np.float32(0.45))
    us = rng.random(n, dtype=np.float32)
    out["satisfaction"][sl] = np.where(us < p_sat * 0.78, 0, np.where(us < p_sat, 1, 2))
    out["no_satisfaction"][sl] = not_closed | (rng.random(n, dtype=np.float32) >= 0.74)


# ---------------------------------------------------------------- pairings and projects

_PARTNERS = {
    "省直": ["省商务厅机关党委", "省发展改革委机关党委", "省教育厅机关党委", "省卫生健康委机关党委",
           "省交通运输厅机关党委", "省住房城乡建设厅机关党委", "省民政厅机关党委", "省农业农村厅机关党委",
           "省财政厅机关党委", "省人力资源社会保障厅机关党委"],
    "市直": ["市商务局机关党委", "市民政局机关党委", "市住房城乡建设局机关党委", "市城市管理局机关党委",
           "市教育局机关党委", "市卫生健康委机关党委", "市市场监管局机关党委", "市自然资源规划局机关党委",
           "市生态环境局机关党委", "市交通运输局机关党委", "市税务局机关党委", "市财政局机关党委",
           "市司法局机关党委", "市文化和旅游局机关党委", "市人力资源社会保障局机关党委",
           "市数据资源局机关党委", "市水务局机关党委", "市应急管理局机关党委"],
    "区直": ["区委组织部机关党支部", "区民政局机关党支部", "区教育局机关党委", "区卫生健康委机关党支部",
           "区城管局机关党支部", "区市场监管局机关党支部", "区住房城乡建设局机关党支部",
           "区司法局机关党支部", "区人社局机关党支部", "区财政局机关党支部"],
    "驻区单位": ["国网示例供电公司党委", "示例市第一人民医院党委", "示例市中心医院党委",
             "示例市第二人民医院党委", "示例市中医院党委", "示例大学机关党委", "示例职业技术学院党委",
             "示例师范学院党委", "中国移动示例分公司党委", "中国电信示例分公司党委",
             "中国联通示例分公司党委", "示例市消防救援支队党委", "示例水务集团党委",
             "示例燃气集团党委", "示例市邮政分公司党委", "工商银行示例分行党委", "建设银行示例分行党委",
             "农业银行示例分行党委"],
    "企业": ["示例城投集团党委", "示例交通投资集团党委", "示例建工集团党委", "示例文旅集团党委",
           "示例产业投资集团党委", "示例公交集团党委", "示例地铁集团党委", "示例供销集团党委",
           "示例农商银行党委", "示例国际物流园党委"],
    "其他": ["示例市律师协会党委", "示例市红十字会机关党支部", "示例市个体劳动者协会党委",
           "示例市物业管理协会党支部", "示例市社会组织综合党委", "示例市快递行业协会党支部"],
}
_PROJECT_TITLES = {
    "民生实事": ["老旧小区加装电梯协调", "社区食堂提升改造", "背街小巷路灯维修", "小区停车位增设",
             "一老一小服务提升", "社区微菜园建设", "雨污分流改造协调", "充电桩进小区",
             "无障碍设施改造", "社区卫生服务站义诊"],
    "阵地建设": ["党群服务中心功能提升", "红色书屋建设", "新就业群体驿站建设", "小区党建角建设",
             "邻里中心改造", "网格党支部活动室建设", "楼宇党群服务站建设"],
    "志愿服务": ["敬老助残志愿服务", "四点半课堂", "义诊进社区", "文明实践志愿服务",
             "反诈宣传进万家", "垃圾分类督导", "暑期青少年托管", "法律服务进社区"],
    "产业发展": ["特色农产品直播带货", "就业技能培训", "社区商业街区提升", "村集体经济项目对接",
             "创业孵化服务", "乡村旅游线路打造"],
    "其他": ["社区治理课题调研", "平安建设联防联控", "环境整治共建", "文化惠民演出"],
}


def _pairings_projects(rng: np.random.Generator, u: _Units, lag_cov: np.ndarray, scale: float):
    n_c = len(u.c_codes)
    last_day = _day("2026-10-31")
    target = max(8, int(round(800 * scale)))
    lagging_comm = np.isin(u.c_street, lag_cov)
    d_eff = rng.normal(0.0, 0.05, len(u.d_codes))[u.c_district]
    p_unpaired = np.clip(np.where(lagging_comm, 0.35, 0.06 + d_eff), 0.0, 0.6)
    paired = rng.random(n_c) >= p_unpaired
    if not paired.any():
        paired[0] = True
    paired_idx = np.flatnonzero(paired)
    extra = _allocate(target, rng.gamma(1.5, 1.0, paired_idx.size) + 0.2, minimum=1) \
        if target >= paired_idx.size else np.ones(paired_idx.size, dtype=np.int64)
    community = np.repeat(paired_idx, extra)
    n = community.size

    levels = _choice(rng, n, [0.08, 0.30, 0.22, 0.22, 0.12, 0.06])
    partner = []
    for lv in levels:
        pool = _PARTNERS[PARTNER_LEVELS[lv]]
        partner.append(pool[rng.integers(len(pool))])
    partner_name = []
    for name, lv, c in zip(partner, levels, community):
        if PARTNER_LEVELS[lv] == "区直":   # 区直 partners belong to the community's district
            name = u.d_names[u.c_district[c]] + name[1:]
        partner_name.append(name)

    y = _choice(rng, n, [0.45, 0.25, 0.17, 0.13])
    y_start = np.array([_day(f"{yy}-01-01") for yy in (2023, 2024, 2025, 2026)])
    y_len = np.array([365, 366, 365, 303])              # 2026: up to 2026-10-31
    started = y_start[y] + (rng.random(n) * y_len[y]).astype(np.int64)
    span = last_day - started
    ends = (rng.random(n) < 0.10) & (span > 120)
    ended = np.where(ends, started + 90 + (rng.random(n) * (span - 90)).astype(np.int64), -1)
    order = np.lexsort((community, started))
    community, levels, started, ended = community[order], levels[order], started[order], ended[order]
    partner_name = [partner_name[i] for i in order]
    pairing_ids = [f"JD{i + 1:06d}" for i in range(n)]
    pairings = _frame({
        "pairing_id": pa.array(pairing_ids, pa.large_string()),
        "partner_name": pa.array(partner_name, pa.large_string()),
        "partner_level": _enum(PARTNER_LEVELS, levels),
        "community_code": _take(u.c_codes_pa, community),
        "started_on": _dates(started),
        "ended_on": _dates(np.maximum(ended, 0), mask=ended < 0),
    })

    # projects: 3-5 per pairing
    k = rng.choice([3, 4, 5], size=n, p=[0.35, 0.42, 0.23])
    pj = np.repeat(np.arange(n), k)
    m = pj.size
    p_end = np.where(ended[pj] >= 0, ended[pj], last_day)
    p_start = started[pj] + (rng.random(m) * np.maximum(p_end - started[pj], 1) * 0.8).astype(np.int64)
    p_start = np.minimum(p_start, last_day - 5)
    due = p_start + rng.integers(60, 420, m)
    kind = _choice(rng, m, [0.38, 0.17, 0.27, 0.08, 0.10])
    titles = []
    for c, kd in zip(community[pj], kind):
        pool = _PROJECT_TITLES[PROJECT_KINDS[kd]]
        title = pool[rng.integers(len(pool))]
        place = u.c_names[c]
        if place.endswith("社区") and title.startswith("社区"):
            place = place[:-2]
        titles.append(place + title)
    lagging_p = lagging_comm[community[pj]]
    d_eff = rng.normal(0.0, 0.06, len(u.d_codes))[u.c_district[community[pj]]]
    due_passed = due <= last_day
    ud = rng.random(m)
    p_done = np.clip(np.where(due_passed, 0.78, 0.25) + d_eff - 0.15 * lagging_p, 0.05, 0.97)
    done = ud < p_done
    on_time = rng.random(m) < np.clip(0.92 + d_eff - 0.15 * lagging_p, 0.3, 0.97)
    completed = np.where(
        on_time,
        p_start + (rng.beta(3.0, 1.5, m) * (np.minimum(due, last_day) - p_start)).astype(np.int64),
        due + rng.integers(1, 120, m),
    )
    done &= completed <= last_day
    completed = np.maximum(completed, p_start)
    terminated = (~done) & ((rng.random(m) < 0.035) | ((ended[pj] >= 0) & (rng.random(m) < 0.5)))
    not_started = (~done) & (~terminated) & (p_start > last_day - 45) & (rng.random(m) < 0.6)
    status = np.select([done, terminated, not_started], [2, 3, 0], default=1)
    projects = _frame({
        "project_id": pa.array([f"XM{i + 1:06d}" for i in range(m)], pa.large_string()),
        "pairing_id": pa.array(pairing_ids, pa.large_string()).take(pa.array(pj.astype(np.int32))),
        "title": pa.array(titles, pa.large_string()),
        "kind": _enum(PROJECT_KINDS, kind),
        "due_on": _dates(due),
        "completed_on": _dates(completed, mask=~done),
        "status": _enum(PROJECT_STATUSES, status),
    })
    return pairings, projects


# ---------------------------------------------------------------- checkins

CHECKIN_PERIODS = _months("2024-11", 24)


def _checkins(rng: np.random.Generator, u: _Units) -> pd.DataFrame:
    n_c = len(u.c_codes)
    n_p = len(CHECKIN_PERIODS)
    size = u.c_size
    units0 = rng.poisson(4 + 6 * size)
    members0 = rng.poisson(40 + 90 * size)
    units_inc = rng.poisson(0.25 * np.sqrt(size)[:, None], (n_c, n_p))
    members_inc = rng.poisson((1.5 + 2.5 * size)[:, None], (n_c, n_p))
    units_inc[:, 0] = 0
    members_inc[:, 0] = 0
    units = units0[:, None] + np.cumsum(units_inc, axis=1)
    members = members0[:, None] + np.cumsum(members_inc, axis=1)
    month = np.array([int(p[5:]) for p in CHECKIN_PERIODS])
    season = {1: 0.6, 2: 0.55, 3: 1.3, 4: 1.0, 5: 1.05, 6: 1.2, 7: 1.5, 8: 0.9, 9: 1.05,
              10: 1.2, 11: 1.0, 12: 0.95}
    s = np.array([season[mm] for mm in month])
    trend = 1.0 + 0.15 * np.arange(n_p) / n_p
    lam = (2.0 + 4.0 * size)[:, None] * (s * trend)[None, :] * rng.lognormal(0, 0.2, n_c)[:, None]
    activities = rng.poisson(lam)
    hours = np.round(activities * rng.uniform(6.0, 30.0, (n_c, n_p)), 1)
    missing = rng.random((n_c, n_p)) < 0.04
    row_p = np.tile(np.arange(n_p), n_c)
    row_c = np.repeat(np.arange(n_c), n_p)
    return _frame({
        "period": _take(CHECKIN_PERIODS, row_p),
        "community_code": _take(u.c_codes_pa, row_c),
        "units_reported": units.ravel().astype(np.int64),
        "members_reported": members.ravel().astype(np.int64),
        "activities": activities.ravel().astype(np.int64),
        "service_hours": np.where(missing, np.nan, hours).ravel().astype(np.float64),
    })


# ---------------------------------------------------------------- grids and compounds

GRID_PERIODS = _months("2025-11", 12)
GRID_PARTY_ORGS = list(S.GRID_PARTY_ORG)
COMPOUND_PARTY_ORGS = list(S.COMPOUND_PARTY_ORG)
PROPERTY_SERVICES = list(S.PROPERTY_SERVICE)
_COMPOUND_SUFFIX = ["花园", "小区", "新村", "家园", "苑", "华庭", "公寓", "雅居", "名苑", "佳园"]


def _ramp(start: np.ndarray, end: np.ndarray, n: int) -> np.ndarray:
    """(entities, months) probabilities moving linearly from start to end over n months."""
    t = np.linspace(0.0, 1.0, n)[None, :]
    return start[:, None] + (end - start)[:, None] * t


def _grids_compounds(rng: np.random.Generator, u: _Units) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly grid and compound snapshots (2025-11 .. 2026-10).

    Each grid and compound has fixed latent draws, and a state holds from the month its
    probability passes the draw, so coverage only grows (a built 党支部 stays built) and the
    year shows the steady progress a 推进会 reports. A few streets clearly lag on every measure.
    """
    n_p = len(GRID_PERIODS)
    n_s = len(u.s_codes)
    lag_s = np.zeros(n_s, dtype=bool)
    lag_s[_lagging(rng, u, share=0.05)] = True

    # grids -------------------------------------------------------------------------------
    n_g = len(u.g_codes)
    g_comm = u.g_comm
    g_village = u.c_village[g_comm]
    g_lag = lag_s[u.c_street[g_comm]]
    households = np.rint(np.where(g_village, 160.0, 380.0) * rng.lognormal(0.0, 0.3, n_g)
                         * np.sqrt(u.c_size[g_comm])).astype(np.int64)
    cover = _ramp(np.where(g_lag, 0.35, 0.68), np.where(g_lag, 0.52, 0.90), n_p)
    has_org = rng.random(n_g)[:, None] < cover
    branch = (rng.random(n_g) < np.where(g_village, 0.35, 0.55))[:, None]
    org = np.where(has_org, np.where(branch, 0, 1), 2)
    leader = rng.random(n_g)[:, None] < _ramp(np.where(g_lag, 0.70, 0.90),
                                              np.where(g_lag, 0.80, 0.98), n_p)
    fulltime0 = np.where(g_village, rng.random(n_g) < 0.35, _choice(rng, n_g, [0.08, 0.82, 0.10]))
    parttime0 = rng.poisson(np.where(g_village, 1.0, 1.6), n_g)
    # a lagging street leaves some grids without anyone for most of the year
    empty = g_lag & (rng.random(n_g) < 0.35)
    staffed_from = np.where(empty, rng.integers(6, n_p + 4, n_g), 0)
    month = np.arange(n_p)[None, :]
    nobody = month < staffed_from[:, None]
    fulltime = np.where(nobody, 0, fulltime0[:, None]).astype(np.int64)
    parttime = np.where(nobody, 0, np.maximum(parttime0[:, None]
                                              + (rng.random((n_g, n_p)) < 0.05), 0))
    parttime = np.where((fulltime == 0) & (parttime == 0) & ~nobody, 1, parttime).astype(np.int64)
    growth = 1.0 + 0.004 * month
    hh = np.rint(households[:, None] * growth).astype(np.int64)
    row_g = np.repeat(np.arange(n_g), n_p)
    row_p = np.tile(np.arange(n_p), n_g)
    grids = _frame({
        "period": _take(GRID_PERIODS, row_p),
        "grid_code": _take(u.g_codes_pa, row_g),
        "grid_party_org": _enum(GRID_PARTY_ORGS, org.ravel()),
        "grid_leader": _bools(leader.ravel()),
        "fulltime_workers": fulltime.ravel(),
        "parttime_workers": parttime.ravel(),
        "households": hh.ravel(),
    })

    # compounds ---------------------------------------------------------------------------
    n_c = len(u.c_codes)
    per_comm = np.where(u.c_village, (rng.random(n_c) < 0.3).astype(np.int64),
                        np.clip(np.rint(2 + 4 * u.c_size * rng.lognormal(0, 0.3, n_c)), 1, 14)
                        ).astype(np.int64)
    k_comm = np.repeat(np.arange(n_c), per_comm)
    n_k = k_comm.size
    k_no = np.arange(n_k) - np.repeat(np.cumsum(per_comm) - per_comm, per_comm) + 1
    k_lag = lag_s[u.c_street[k_comm]]
    k_codes = [f"XQ{u.c_codes[c]}{j:03d}" for c, j in zip(k_comm.tolist(), k_no.tolist())]
    names = _place_names(rng, _PLACE_A, _PLACE_B, max(n_k, 1))
    suffix = rng.integers(0, len(_COMPOUND_SUFFIX), n_k)
    k_names = [names[i] + _COMPOUND_SUFFIX[suffix[i]] for i in range(n_k)]
    k_hh = np.clip(np.rint(620 * rng.lognormal(0.0, 0.7, n_k)
                           * np.where(u.c_village[k_comm], 0.4, 1.0)), 24, 4800).astype(np.int64)
    members = rng.poisson(k_hh * 0.028 * rng.lognormal(0.0, 0.5, n_k))
    eligible = members >= 3
    c_branch = rng.random(n_k)[:, None] < _ramp(
        np.where(k_lag, 0.25, 0.55), np.where(k_lag, 0.35, 0.80), n_p)
    c_group = (rng.random(n_k) < np.where(eligible, 0.5, 0.25))[:, None]
    c_org = np.where(eligible[:, None] & c_branch, 0, np.where(c_group, 1, 2))
    c_org = np.where(~eligible[:, None] & (rng.random(n_k) < 0.04)[:, None], 0, c_org)
    prop0 = _choice(rng, n_k, [0.66, 0.0, 0.14, 0.20])
    prop0 = np.where(k_lag & (rng.random(n_k) < 0.3), 3, prop0)
    # compounds without 物业 get one during the year; some professional ones turn 红色物业
    gets = rng.random(n_k)[:, None] < _ramp(np.zeros(n_k), np.where(k_lag, 0.25, 0.7), n_p)
    red = (prop0 == 0)[:, None] & (rng.random(n_k)[:, None] < _ramp(
        np.full(n_k, 0.08), np.where(k_lag, 0.1, 0.24), n_p))
    fallback = np.where(rng.random(n_k) < 0.5, 2, 0)[:, None]
    prop = np.where(prop0[:, None] == 3, np.where(gets, fallback, 3), prop0[:, None])
    prop = np.where(red, 1, prop)
    committee = rng.random(n_k)[:, None] < _ramp(
        np.where(k_lag, 0.15, 0.38), np.where(k_lag, 0.2, 0.55), n_p)
    committee &= prop != 3
    model = (rng.random(n_k)[:, None] < _ramp(np.full(n_k, 0.03), np.where(k_lag, 0.03, 0.08),
                                               n_p)) & (c_org == 0) & (prop != 3)
    per_neighbor = np.where(k_lag, 28.0, 11.0) * rng.lognormal(0.0, 0.2, n_k)
    neighbor = np.rint(k_hh / per_neighbor).astype(np.int64)[:, None] \
        + np.rint(_ramp(np.zeros(n_k), k_hh / per_neighbor * 0.12, n_p)).astype(np.int64)
    group = np.maximum(np.rint(neighbor / 4.8), 1).astype(np.int64)
    area = np.maximum(np.rint(group / 4.0), 1).astype(np.int64)
    members_t = members[:, None] + (rng.random((n_k, n_p)) < 0.04).cumsum(axis=1)
    row_k = np.repeat(np.arange(n_k), n_p)
    row_p = np.tile(np.arange(n_p), n_k)
    compounds = _frame({
        "period": _take(GRID_PERIODS, row_p),
        "compound_id": _take(k_codes, row_k),
        "compound_name": _take(k_names, row_k),
        "community_code": _take(u.c_codes_pa, k_comm[row_k]),
        "households": k_hh[row_k],
        "party_members_resident": members_t.ravel().astype(np.int64),
        "party_org": _enum(COMPOUND_PARTY_ORGS, c_org.ravel()),
        "property_service": _enum(PROPERTY_SERVICES, prop.ravel()),
        "owners_committee": _bools(committee.ravel()),
        "model_compound": _bools(model.ravel()),
        "heads_area": area.ravel(),
        "heads_group": group.ravel(),
        "heads_neighbor": neighbor.ravel(),
    })
    return grids, compounds

# ---------------------------------------------------------------- tasks (重点任务督办)

# (title, 检验标准): what a 冲刺推进会 assigns, each with how completion is checked.
_KEY_TASKS = [
    ("党建引领网格化治理提质增效", "网格党组织覆盖率达到100%，网格员队伍配齐配强"),
    ("两新组织党组织应建尽建攻坚", "应建未建组织清零，工作覆盖率达到95%"),
    ("12345热线诉求办理提速", "按期办结率达到90%以上"),
    ("老旧小区改造提升", "完成改造并通过竣工验收"),
    ("背街小巷环境整治", "整治清单全部销号并通过验收"),
    ("社区党群服务中心提档升级", "通过区级达标验收并对外开放"),
    ("物业服务企业党建联建", "物业企业党组织或联络员覆盖率达到90%"),
    ("新就业群体服务站点建设", "站点建成并实现常态化运营"),
    ("矛盾纠纷多元化解", "矛盾纠纷化解率达到95%，无重大信访事件"),
    ("基层减负清单落实", "社区台账精简30%以上"),
    ("智慧社区平台建设", "平台上线运行，数据按月更新"),
    ("平安社区创建", "达到平安社区创建标准并通过验收"),
    ("垃圾分类示范小区创建", "示范小区通过市级验收"),
    ("停车难综合治理", "新增错时共享停车位并公示"),
    ("消防安全隐患整治", "隐患清单全部整改销号"),
    ("燃气管道老化更新改造", "完成更新改造并通过安全验收"),
    ("城中村整治提升", "完成整治方案确定的全部事项"),
    ("红色物业创建", "创建达标并通过区级评估"),
    ("社区工作者队伍建设", "按标准配齐社区工作者并完成轮训"),
    ("居民议事协商机制完善", "每个社区建立议事协商会并每季度开展协商"),
    ("驻区单位双报到深化", "报到单位年内开展共建活动不少于4次"),
    ("网格员专职化建设", "专职网格员配备率达到100%"),
    ("应急管理网格化", "应急预案覆盖全部网格并完成演练"),
    ("河湖长制网格落实", "巡河记录按周上报，问题闭环处置"),
]
_LIVELIHOOD = [  # the city's 15 重点民生项目
    ("新增公办幼儿园学位", "新增学位投入使用"),
    ("老旧小区加装电梯", "电梯全部投入使用并通过特种设备验收"),
    ("新建社区食堂", "食堂全部开业运营"),
    ("农贸市场标准化改造", "改造完成并通过标准化验收"),
    ("新增公共停车泊位", "泊位全部建成并开放使用"),
    ("充电桩进小区", "新增充电桩全部通电运行"),
    ("口袋公园建设", "公园全部建成开放"),
    ("养老服务综合体建设", "综合体建成并投入运营"),
    ("城市书房建设", "书房全部对外开放"),
    ("社区卫生服务中心标准化建设", "通过标准化建设验收"),
    ("公共厕所提升改造", "改造完成并通过验收"),
    ("雨污分流改造", "完成改造并通过排水验收"),
    ("二次供水设施改造", "改造完成并通过水质检测"),
    ("学校周边交通综合治理", "治理方案全部落实，高峰拥堵明显缓解"),
    ("一刻钟便民生活圈建设", "便民生活圈覆盖率达到90%"),
]
_OTHER_TASKS = [
    ("基层治理课题调研", "形成调研报告并报送"),
    ("统计台账规范化", "台账按月报送，数据核查无误"),
    ("志愿服务队伍建设", "注册志愿者人数达到年度目标"),
]
# 市直 departments with the relative size of their share of the whole-city tasks
_CITY_OWNERS = [("市住房城乡建设局", 5), ("市城市管理局", 4), ("市发展改革委", 4), ("市民政局", 4),
                ("市委组织部", 3), ("市委社会工作部", 3), ("市委政法委", 2), ("市教育局", 2),
                ("市卫生健康委", 2), ("市商务局", 2), ("市市场监管局", 2), ("市交通运输局", 2),
                ("市生态环境局", 1), ("市数据资源局", 2), ("市应急管理局", 1), ("市水务局", 1),
                ("市政务服务管理局", 1)]
# a district's task: its government, or one of these of its departments
_DISTRICT_OWNERS = ["人民政府", "人民政府", "住房城乡建设局", "城市管理局", "民政局", "委组织部"]
TASK_DUE_DATES = ["2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31",
                  "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-06", "2026-11-15",
                  "2026-11-30", "2026-12-15", "2026-12-31", "2027-03-31", "2027-06-30"]


def _tasks(rng: np.random.Generator, u: _Units, scale: float) -> pd.DataFrame:
    """The 督办台账 of a 冲刺推进会: 258 重点任务, 15 重点民生项目 and a few others (at scale 1),
    each with a 责任单位, a 完成时限 and a 检验标准, as the ledger stands on 2026-11-01.

    A fifth of the tasks are the whole city's (a 市直 department owns them), a third a
    district's, the rest a street's. Three streets and two city departments lag: fewer of
    their tasks are done, more late.
    """
    n_key = max(6, int(round(258 * scale)))
    n_live = max(3, int(round(15 * min(scale, 1.0))))
    n_other = max(2, int(round(12 * scale)))
    kind = np.repeat([0, 1, 2], [n_key, n_live, n_other])
    n = kind.size
    n_d, n_s = len(u.d_codes), len(u.s_codes)
    # whole city / district / street; 民生项目 are mostly the city's or a district's
    scope = np.where(kind == 1, _choice(rng, n, [0.5, 0.5, 0.0]), _choice(rng, n, [0.22, 0.36, 0.42]))
    lag_streets = _lagging(rng, u, share=0.05)
    district = rng.integers(0, n_d, n)
    # the lagging streets are the ones with most to do (城中村, old estates)
    weight = np.where(np.isin(np.arange(n_s), lag_streets), 8.0, 1.0)
    street = rng.choice(n_s, size=n, p=weight / weight.sum())
    district = np.where(scope == 2, u.s_district[street], district)
    lag_owners = rng.choice(4, size=2, replace=False)  # two of the departments with most tasks
    city_owner = _choice(rng, n, [w for _, w in _CITY_OWNERS]).astype(np.int64)
    district_owner = rng.integers(0, len(_DISTRICT_OWNERS), n)
    street_office = rng.random(n) < 0.75  # else a district department owns a street's task

    titles, acceptance, owners, unit_codes = [], [], [], []
    pools = (_KEY_TASKS, _LIVELIHOOD, _OTHER_TASKS)
    live_order = rng.permutation(len(_LIVELIHOOD))
    live_seen = 0
    for i in range(n):
        if kind[i] == 1 and live_seen < len(_LIVELIHOOD):
            title, acc = _LIVELIHOOD[live_order[live_seen]]
            live_seen += 1
        else:
            pool = pools[kind[i]]
            title, acc = pool[rng.integers(len(pool))]
        d_name = u.d_names[district[i]]
        if scope[i] == 0:
            owners.append(_CITY_OWNERS[city_owner[i]][0])
            unit_codes.append(None)
            titles.append(("全市" if kind[i] != 1 else "") + title)
        elif scope[i] == 1:
            dep = _DISTRICT_OWNERS[district_owner[i]]
            owners.append(d_name + dep if dep != "委组织部" else d_name[:-1] + "区委组织部")
            unit_codes.append(u.d_codes[district[i]])
            titles.append(d_name + title)
        else:
            s_name = u.s_names[street[i]]
            office = s_name[:-1] + "镇人民政府" if s_name.endswith("镇") else s_name + "办事处"
            dep = _DISTRICT_OWNERS[2 + district_owner[i] % 2]  # 住建局 or 城管局
            owners.append(office if street_office[i] else
                          (d_name + dep if dep != "委组织部" else d_name[:-1] + "区委组织部"))
            unit_codes.append(u.s_codes[street[i]])
            titles.append(s_name + title)
        acceptance.append(acc)
    # A few ledgers rows arrive without a 检验标准 (the upload reports them).
    for i in rng.choice(n, size=max(1, n // 100), replace=False):
        acceptance[i] = None

    extract = _day("2026-11-01")
    due = np.array([_day(d) for d in TASK_DUE_DATES])[
        _choice(rng, n, [2, 3, 3, 6, 4, 4, 7, 7, 3, 5, 6, 5, 10, 4, 2])]
    lagging = np.isin(street, lag_streets) & (scope == 2)
    lagging |= (scope == 0) & np.isin(city_owner, lag_owners)
    passed = due < extract
    p_done = np.where(passed, np.where(lagging, 0.45, 0.9), np.where(lagging, 0.05, 0.3))
    done = rng.random(n) < p_done
    late = rng.random(n) < np.where(lagging, 0.45, 0.1)
    # late: some weeks after the due date; on time: before it; ahead of a later due date:
    # within the last three months
    completed = np.where(passed, np.where(late, due + rng.integers(1, 40, n),
                                          due - rng.integers(0, 45, n)),
                         extract - 1 - rng.integers(0, 90, n))
    completed = np.minimum(completed, extract - 1)
    done &= completed >= _day("2026-01-15")
    terminated = (~done) & (rng.random(n) < 0.025)
    started = rng.random(n) < np.where(due - extract > 60, 0.6, 0.95)
    status = np.select([done, terminated, started], [2, 3, 1], default=0)
    progress = np.round(np.where(status == 2, 1.0,
                                 np.where(status == 1, rng.uniform(0.1, 0.95, n), 0.0)), 2)
    progress_missing = (status != 2) & (rng.random(n) < 0.2)
    progress = np.where(progress_missing | (status == 3), np.nan, progress)
    # the ledger lists tasks by due date, then by unit
    order = np.lexsort((np.array([c or "" for c in unit_codes]), due))
    unit_arr = [unit_codes[i] for i in order]
    return _frame({
        "task_id": pa.array([f"RW2026{i + 1:04d}" for i in range(n)], pa.large_string()),
        "title": pa.array([titles[i] for i in order], pa.large_string()),
        "kind": _enum(TASK_KINDS, kind[order]),
        "owner": pa.array([owners[i] for i in order], pa.large_string()),
        "unit_code": pa.array(unit_arr, pa.large_string()),
        "due_on": _dates(due[order]),
        "status": _enum(PROJECT_STATUSES, status[order]),
        "completed_on": _dates(completed[order], mask=status[order] != 2),
        "progress": progress[order].astype(np.float64),
        "acceptance": pa.array([acceptance[i] for i in order], pa.large_string()),
    })


# ---------------------------------------------------------------- targets

_CITY_TARGETS = {
    "org_coverage_rate": 0.70,
    "work_coverage_rate": 0.85,
    "standalone_rate": 0.80,
    "close_rate": 0.95,
    "on_time_rate": 0.90,
    "response_rate": 0.95,
    "resolve_rate": 0.85,
    "satisfaction_rate": 0.90,
    "pairing_coverage_rate": 0.90,
    "project_completion_rate": 0.60,
    "project_on_time_rate": 0.80,
}
_TARGETS_2025 = {"org_coverage_rate": 0.65, "work_coverage_rate": 0.80, "standalone_rate": 0.75,
                 "pairing_coverage_rate": 0.85}
# 网格与小区
_CITY_TARGETS |= {
    "grid_party_org_rate": 0.85, "grid_leader_rate": 0.95, "grid_staffed_rate": 0.98,
    "compound_party_org_rate": 0.80, "compound_build_rate": 0.75,
    "property_coverage_rate": 0.95, "owners_committee_rate": 0.50,
}
_TARGETS_2025 |= {"grid_party_org_rate": 0.75, "compound_build_rate": 0.60,
                  "property_coverage_rate": 0.85}


def _targets(u: _Units, lag_cov: np.ndarray) -> pd.DataFrame:
    rows: list[tuple[int, str, str | None, float]] = []
    for year in (2025, 2026):
        for metric, value in _CITY_TARGETS.items():
            rows.append((year, metric, None, _TARGETS_2025.get(metric, value) if year == 2025 else value))
    # 东湖区 (the first district) aims higher on organisation coverage
    rows.append((2026, "org_coverage_rate", u.d_codes[0], 0.75))
    rows.append((2026, "work_coverage_rate", u.d_codes[0], 0.90))
    if len(u.d_codes) > 1:
        rows.append((2026, "on_time_rate", u.d_codes[1], 0.92))
    # one lagging street gets a realistic interim target
    rows.append((2026, "org_coverage_rate", u.s_codes[int(lag_cov[0])], 0.55))
    # 重点任务督办: the 冲刺推进会's aims for the year
    rows.append((2026, "task_completion_rate", None, 0.60))
    rows.append((2026, "task_on_time_rate", None, 0.90))
    year, metric, unit, target = zip(*rows)
    return _frame({
        "year": np.array(year, dtype=np.int64),
        "metric": _enum(RATE_METRICS, np.array([RATE_METRICS.index(x) for x in metric])),
        "unit_code": pa.array(list(unit), pa.large_string()),
        "target": np.array(target, dtype=np.float64),
    })


# ---------------------------------------------------------------- entry point

def generate_city(*, seed: int = 2026, scale: float = 1.0) -> dict[str, pd.DataFrame]:
    """The demo city 示例市 as the seven contract tables.

    Returns {"units", "organizations", "issues", "pairings", "projects", "checkins",
    "targets", "grids", "compounds", "tasks"}. ``scale`` multiplies the number of streets,
    communities, organizations, work
    orders and pairings (1.0: ~60 streets, ~500 communities, ~20k organizations a month,
    ~300k work orders); the same seed and scale always give identical frames.
    """
    if not (isinstance(scale, (int, float)) and np.isfinite(scale) and scale > 0):
        raise ValueError("scale must be a positive number")
    seed = int(seed)
    if seed < 0:
        raise ValueError("seed must be non-negative")

    def rng(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])

    u = _Units(rng(1), scale)
    units = u.frame()
    organizations, lag_cov = _organizations(rng(2), u, scale)
    issues = _issues(rng(3), u, scale)
    pairings, projects = _pairings_projects(rng(4), u, lag_cov, scale)
    checkins = _checkins(rng(5), u)
    targets = _targets(u, lag_cov)
    grids, compounds = _grids_compounds(rng(6), u)
    tasks = _tasks(rng(7), u, scale)
    return {
        "units": units,
        "organizations": organizations,
        "issues": issues,
        "pairings": pairings,
        "projects": projects,
        "checkins": checkins,
        "targets": targets,
        "grids": grids,
        "compounds": compounds,
        "tasks": tasks,
    }
