"""The tables of the data contract: columns, Chinese aliases, types and keys.

This is docs/contract/data-contract.md in code; validation, templates, storage types and the
upload page's explanations all read it from here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from metrics.definitions import METRICS

# Column kinds. Each has a parser in parse.py and a storage type below.
CODE, TEXT, ENUM, BOOL, INT, NUMBER, DATE, DATETIME, MONTH, RATE = (
    "code", "text", "enum", "bool", "int", "number", "date", "datetime", "month", "rate",
)

# The storage type of each kind, as DuckDB SQL (the store's Parquet columns; Spark maps these).
SQL_TYPES = {
    CODE: "VARCHAR", TEXT: "VARCHAR", ENUM: "VARCHAR", BOOL: "BOOLEAN", INT: "BIGINT",
    NUMBER: "DOUBLE", RATE: "DOUBLE", DATE: "DATE", DATETIME: "TIMESTAMP",
    MONTH: "DATE",  # first day of the month
}

KIND_LABELS = {
    CODE: "代码(文本)",
    TEXT: "文本",
    ENUM: "枚举",
    BOOL: "是/否",
    INT: "整数",
    NUMBER: "数值",
    DATE: "日期",
    DATETIME: "日期时间",
    MONTH: "月份",
    RATE: "比例(0-1或百分数)",
}

# A header naming residents' personal data is dropped at ingest, whatever table it is in.
PII_MARKERS = ("姓名", "身份证", "证件号", "手机", "电话", "联系方式", "住址", "地址")

LEVELS = ("district", "street", "community", "grid")
LEVEL_CODE_LENGTH = {"district": 6, "street": 9, "community": 12, "grid": 15}
LEVEL_LABELS = {"city": "全市", "district": "区县", "street": "街道", "community": "社区", "grid": "网格"}
LEVEL_ALIASES = {
    "district": "district", "区县": "district", "区": "district", "县": "district",
    "street": "street", "街道": "street", "乡镇": "street", "镇": "street", "乡": "street",
    "community": "community", "社区": "community", "村": "community",
    "grid": "grid", "网格": "grid",
}


@dataclass(frozen=True)
class Column:
    name: str
    label: str  # the main Chinese header, used in templates and error reports
    kind: str
    aliases: tuple[str, ...] = ()
    required: bool = True
    enum: tuple[str, ...] = ()
    enum_aliases: dict[str, str] = field(default_factory=dict)
    default: object = None  # value used when the cell is empty (then the column is not required)
    rule: str = ""  # the rule in words, for templates and the upload page

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.name, self.label, *self.aliases)


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # "upsert": rows replace stored rows with the same key; "replace_periods": the periods in
    # the file replace the stored rows of those periods (the organizations ledger).
    merge: str = "upsert"
    # Header words that mark personal data in this table besides PII_MARKERS.
    pii_markers: tuple[str, ...] = ()
    # Two or so characters, where every table is named in one line: the data version of the
    # exports (区划v1·台账v3·…) and the pages' 最近上传 line. Defaults to ``label``.
    short: str = ""

    @property
    def short_label(self) -> str:
        return self.short or self.label

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]



ORG_TYPES = ("非公企业", "社会组织")
SECTORS = ("商务楼宇", "商圈市场", "产业园区", "互联网企业", "新就业群体", "其他")
PARTY_ORG = ("单独组建", "联合组建", "未组建")
SOURCES = ("网格员上报", "12345热线", "群众来访", "部门交办", "其他")
SATISFACTION = ("满意", "基本满意", "不满意")
PARTNER_LEVELS = ("省直", "市直", "区直", "驻区单位", "企业", "其他")
PROJECT_KINDS = ("民生实事", "阵地建设", "志愿服务", "产业发展", "其他")
PROJECT_STATUS = ("未启动", "推进中", "已完成", "已终止")
# 重点任务督办 --------------------------------------------------------------------------------
TASK_KINDS = ("重点任务", "民生项目", "其他")
TASK_STATUS = PROJECT_STATUS  # the same four states and completed_on rules as projects
# A 督办台账 often names people beside the owning unit (责任人, 联系人, 分管领导); the owner of
# a task is a unit, so such columns go the way of residents' personal data.
TASK_PII_MARKERS = ("责任人", "联系人", "负责人", "领导")
# --------------------------------------------------------------------------------------------

# Rate metrics a target may name: every rate of metrics.definitions, with its Chinese label so
# a targets sheet may name them either way.
RATE_METRIC_LABELS = {key: m.label for key, m in METRICS.items() if m.is_rate}
RATE_METRICS = tuple(RATE_METRIC_LABELS)

TABLES: dict[str, Table] = {}


def _table(t: Table) -> Table:
    TABLES[t.name] = t
    return t


_table(Table(
    name="units", label="区划与网格", short="区划",
    description="区县、街道、社区、网格的代码、名称与上下级关系。其他各表都挂在社区(网格)上。",
    key=("code",),
    columns=(
        Column("code", "区划代码", CODE, ("编码", "代码"),
               rule="唯一；纯数字；区县6位、街道9位、社区12位、网格15位，并以上级代码开头"),
        Column("name", "名称", TEXT, ("区划名称",), rule="不能为空"),
        Column("level", "层级", ENUM, enum=LEVELS, enum_aliases=LEVEL_ALIASES,
               rule="区县 / 街道(乡镇) / 社区(村) / 网格"),
        Column("parent_code", "上级代码", CODE, required=False,
               rule="区县留空；其他为上一级的已有代码"),
    ),
))

_table(Table(
    name="organizations", label="两新组织党建台账", short="台账",
    description="每月一次的两新组织台账快照，每个组织每月一行；上传某月的台账会替换该月已有数据。",
    key=("period", "org_id"), merge="replace_periods",
    columns=(
        Column("period", "统计月份", MONTH, rule="必填，如 2026-03"),
        Column("org_id", "统一社会信用代码", CODE,
               rule="18位(数字和大写字母，不含I、O、Z、S、V)；同月内唯一；校验位不符仅提示"),
        Column("org_name", "单位名称", TEXT, rule="不能为空"),
        Column("org_type", "单位类型", ENUM, enum=ORG_TYPES),
        Column("sector", "新兴领域", ENUM, enum=SECTORS, default="其他", required=False,
               enum_aliases={"园区": "产业园区"}, rule="空白视为“其他”"),
        Column("community_code", "所属社区代码", CODE, rule="已有的社区代码"),
        Column("employees", "从业人员数", INT, rule="≥0 的整数"),
        Column("party_members", "正式党员数", INT, rule="≥0 的整数；多于从业人员数仅提示"),
        Column("party_org", "党组织建立情况", ENUM, enum=PARTY_ORG),
        Column("instructor", "是否选派党建指导员", BOOL, default=False, required=False,
               rule="是/否，空白视为否"),
        Column("operating", "是否实体运营", BOOL, default=True, required=False,
               rule="是/否，空白视为是；空壳、僵尸组织填否，不计入任何分母"),
    ),
))

_table(Table(
    name="issues", label="事件/诉求工单", short="工单",
    description="每张工单一行；新上传按工单编号更新(后一次导出带有未办结工单的最新状态)。",
    key=("issue_id",),
    columns=(
        Column("issue_id", "工单编号", CODE, ("事件编号",), rule="唯一"),
        Column("community_code", "所属社区代码", CODE, rule="已有的社区代码"),
        Column("grid_code", "所属网格代码", CODE, required=False,
               rule="可空；填写时须为该社区下已有的网格"),
        Column("source", "来源", ENUM, enum=SOURCES, default="其他", required=False,
               enum_aliases={"12345": "12345热线", "热线": "12345热线"}),
        Column("category", "问题类别", TEXT, rule="不能为空，如 物业管理、停车管理"),
        Column("reported_at", "上报时间", DATETIME, ("受理时间",), rule="必填"),
        Column("due_at", "办理时限", DATETIME, ("应办结时间",), rule="必填，不早于上报时间"),
        Column("responded_at", "首次响应时间", DATETIME, required=False, rule="可空，不早于上报时间"),
        Column("closed_at", "办结时间", DATETIME, required=False, rule="可空，不早于上报时间"),
        Column("resolved", "是否解决", BOOL, required=False,
               rule="回访结果，可空；未办结工单填写仅提示"),
        Column("satisfaction", "满意度", ENUM, enum=SATISFACTION, required=False,
               rule="可空：满意 / 基本满意 / 不满意"),
    ),
))

_table(Table(
    name="pairings", label="结对联建关系", short="结对",
    description="机关、驻区单位与社区的结对关系，每对一行。",
    key=("pairing_id",),
    columns=(
        Column("pairing_id", "结对编号", CODE, rule="唯一"),
        Column("partner_name", "结对单位", TEXT, rule="不能为空"),
        Column("partner_level", "单位层级", ENUM, enum=PARTNER_LEVELS),
        Column("community_code", "结对社区代码", CODE, rule="已有的社区代码"),
        Column("started_on", "结对日期", DATE, rule="必填"),
        Column("ended_on", "结束日期", DATE, required=False, rule="可空，不早于结对日期"),
    ),
))

_table(Table(
    name="projects", label="共建项目", short="项目",
    description="每个结对关系的共建项目清单，每个项目一行。",
    key=("project_id",),
    columns=(
        Column("project_id", "项目编号", CODE, rule="唯一"),
        Column("pairing_id", "结对编号", CODE, rule="已有的结对编号"),
        Column("title", "项目名称", TEXT, rule="不能为空"),
        Column("kind", "项目类别", ENUM, enum=PROJECT_KINDS),
        Column("due_on", "计划完成日期", DATE, rule="必填"),
        Column("completed_on", "实际完成日期", DATE, required=False,
               rule="已完成的项目必填，其他状态必须留空"),
        Column("status", "状态", ENUM, enum=PROJECT_STATUS),
    ),
))

_table(Table(
    name="checkins", label="双报到月报", short="报到",
    description="每个社区每月一行：报到单位、报到党员(累计)与当月活动、服务时长。",
    key=("period", "community_code"),
    columns=(
        Column("period", "统计月份", MONTH, rule="必填；同一社区同月只能一行"),
        Column("community_code", "社区代码", CODE, rule="已有的社区代码"),
        Column("units_reported", "报到单位数", INT, rule="≥0，累计"),
        Column("members_reported", "报到党员数", INT, rule="≥0，累计"),
        Column("activities", "开展活动次数", INT, rule="≥0，当月"),
        Column("service_hours", "服务时长", NUMBER, required=False, rule="可空，≥0，当月小时数"),
    ),
))

_table(Table(
    name="targets", label="年度目标", short="目标",
    description="各项比率指标的年度目标，可按全市、区县或街道设定。",
    key=("year", "metric", "unit_code"),
    columns=(
        Column("year", "年度", INT, rule="2000–2100"),
        Column("metric", "指标", ENUM, enum=RATE_METRICS,
               enum_aliases={v: k for k, v in RATE_METRIC_LABELS.items()},
               rule="比率类指标的英文键或中文名，如 org_coverage_rate 或 组织覆盖率"),
        Column("unit_code", "区划代码", CODE, required=False, rule="区县或街道代码；全市留空"),
        Column("target", "目标值", RATE, rule="0–1；95% 与 0.95 同义"),
    ),
))


# 网格与小区: two monthly snapshots like the organizations ledger ------------------------------
GRID_PARTY_ORG = ("网格党支部", "网格党小组", "未建")
COMPOUND_PARTY_ORG = ("小区党支部", "楼栋党小组", "未建")
PROPERTY_SERVICE = ("专业物业", "红色物业", "自管", "无")
_NOT_BUILT = {"未组建": "未建", "未建立": "未建", "无": "未建"}

_table(Table(
    name="grids", label="网格党建与力量配备", short="网格",
    description="每月一次的网格快照，每个网格每月一行：网格党组织、网格长、专职/兼职网格员与户数；"
                "上传某月的数据会替换该月已有数据。",
    key=("period", "grid_code"), merge="replace_periods",
    columns=(
        Column("period", "统计月份", MONTH, rule="必填，如 2026-03；同一网格同月只能一行"),
        Column("grid_code", "网格代码", CODE, ("所属网格代码", "网格编码"),
               rule="已有的网格代码(15位)"),
        Column("grid_party_org", "网格党组织", ENUM, ("网格党组织建立情况",),
               enum=GRID_PARTY_ORG,
               enum_aliases={"党支部": "网格党支部", "党小组": "网格党小组", **_NOT_BUILT},
               rule="网格党支部 / 网格党小组 / 未建"),
        Column("grid_leader", "是否配备网格长", BOOL, ("网格长",), default=False, required=False,
               rule="是/否，空白视为否"),
        Column("fulltime_workers", "专职网格员数", INT, ("专职网格员",), rule="≥0 的整数"),
        Column("parttime_workers", "兼职网格员数", INT, ("兼职网格员",), rule="≥0 的整数"),
        Column("households", "户数", INT, ("网格户数", "住户数"), rule="≥0 的整数"),
    ),
))

_table(Table(
    name="compounds", label="小区党建与治理", short="小区",
    description="每月一次的小区(住宅小区)快照，每个小区每月一行：小区党组织、物业服务、业委会、"
                "示范小区与片长/组长/邻长；上传某月的数据会替换该月已有数据。",
    key=("period", "compound_id"), merge="replace_periods",
    columns=(
        Column("period", "统计月份", MONTH, rule="必填，如 2026-03"),
        Column("compound_id", "小区编号", CODE, ("小区代码", "小区编码"), rule="同月内唯一"),
        Column("compound_name", "小区名称", TEXT, rule="不能为空"),
        Column("community_code", "所属社区代码", CODE, ("社区代码",), rule="已有的社区代码"),
        Column("households", "户数", INT, ("小区户数", "住户数"), rule="≥0 的整数"),
        Column("party_members_resident", "居住党员数", INT, ("在册党员数", "小区党员数"),
               rule="≥0 的整数；居住在小区的党员"),
        Column("party_org", "小区党组织", ENUM, ("小区党组织建立情况",), enum=COMPOUND_PARTY_ORG,
               enum_aliases={"党支部": "小区党支部", "党小组": "楼栋党小组", **_NOT_BUILT},
               rule="小区党支部 / 楼栋党小组 / 未建"),
        Column("property_service", "物业服务", ENUM, ("物业服务方式", "物业管理方式"),
               enum=PROPERTY_SERVICE,
               enum_aliases={"物业公司": "专业物业", "专业化物业": "专业物业", "自治管理": "自管",
                             "业主自管": "自管", "无物业": "无"},
               rule="专业物业 / 红色物业 / 自管 / 无"),
        Column("owners_committee", "是否成立业委会", BOOL, ("业委会",), default=False,
               required=False, rule="是/否，空白视为否"),
        Column("model_compound", "是否示范小区", BOOL, ("示范小区",), default=False,
               required=False, rule="是/否，空白视为否"),
        Column("heads_area", "片长数", INT, ("片长",), rule="≥0 的整数"),
        Column("heads_group", "组长数", INT, ("组长",), rule="≥0 的整数"),
        Column("heads_neighbor", "邻长数", INT, ("邻长",), rule="≥0 的整数；多于户数仅提示"),
    ),
))
# 重点任务督办 --------------------------------------------------------------------------------
_table(Table(
    name="tasks", label="重点任务督办", short="任务",
    description="重点任务、重点民生项目的督办台账，每项任务一行：责任单位、完成时限、检验标准与进展；"
                "新上传按任务编号更新。",
    key=("task_id",), pii_markers=TASK_PII_MARKERS,
    columns=(
        Column("task_id", "任务编号", CODE, ("督办编号", "事项编号"), rule="唯一"),
        Column("title", "任务名称", TEXT, ("任务内容", "事项名称", "重点任务"), rule="不能为空"),
        Column("kind", "任务类别", ENUM, ("任务类型",), enum=TASK_KINDS, default="其他",
               required=False,
               enum_aliases={"重点民生项目": "民生项目", "民生实事": "民生项目", "民生": "民生项目"},
               rule="重点任务 / 民生项目 / 其他；空白视为“其他”"),
        Column("owner", "责任单位", TEXT, ("牵头单位", "责任部门", "主责单位"),
               rule="不能为空；填一个牵头单位(责任单位排名按此列计)"),
        Column("unit_code", "所属区划代码", CODE, ("区划代码", "所属区划"), required=False,
               rule="已有的区县或街道代码；全市性任务留空"),
        Column("due_on", "完成时限", DATE, ("计划完成日期", "完成期限", "截止日期"), rule="必填"),
        Column("status", "状态", ENUM, ("推进状态", "进展状态"), enum=TASK_STATUS,
               rule="未启动 / 推进中 / 已完成 / 已终止"),
        Column("completed_on", "实际完成日期", DATE, ("完成日期",), required=False,
               rule="已完成的任务必填，其他状态必须留空"),
        Column("progress", "完成进度", RATE, ("进度", "推进进度"), required=False,
               rule="可空；0–1，80% 与 0.8 同义；已完成而进度不足100%仅提示"),
        Column("acceptance", "检验标准", TEXT, ("验收标准", "完成标准"), required=False,
               rule="完成的检验(验收)标准；留空仅提示"),
    ),
))
# --------------------------------------------------------------------------------------------


_BRACKET_UNIT = re.compile(r"\s*[\(\[][^\(\)\[\]]*[\)\]]\s*$")


def normalize_header(text: object) -> str:
    """Header as matched: NFKC (full-width → half-width), no spaces, no trailing unit in brackets."""
    s = unicodedata.normalize("NFKC", str(text if text is not None else "")).strip()
    s = _BRACKET_UNIT.sub("", s)
    s = re.sub(r"\s+", "", s)
    return s.lower()


def is_pii_header(text: object, table: Table | None = None) -> bool:
    s = normalize_header(text)
    markers = PII_MARKERS + (table.pii_markers if table is not None else ())
    return any(m in s for m in markers)


def header_index(table: Table) -> dict[str, str]:
    """normalized header → column name."""
    out: dict[str, str] = {}
    for c in table.columns:
        for h in c.headers:
            out[normalize_header(h)] = c.name
    return out
