"""两个覆盖: party-organization and party-work coverage of 两新组织."""

from ui.domain_page import Breakdown, DomainPage, FollowUp, render
from ui.state import current

PAGE = DomainPage(
    domain="coverage",
    title="两个覆盖",
    headline=["org_coverage_rate", "work_coverage_rate", "standalone_rate", "orgs_total",
              "orgs_with_party_org", "orgs_work_covered", "gap_should_build", "gap_work_uncovered"],
    rank_keys=["org_coverage_rate", "work_coverage_rate", "standalone_rate", "gap_should_build",
               "gap_work_uncovered"],
    trend_keys=["org_coverage_rate", "work_coverage_rate"],
    breakdowns=[Breakdown("sector", "org_coverage_rate", "按新兴领域·组织覆盖率"),
                Breakdown("org_type", "org_coverage_rate", "按单位类型·组织覆盖率")],
    follow_ups=[
        FollowUp("should_build", "应建未建组织", {
            "org_name": "单位名称", "org_id": "统一社会信用代码", "org_type": "单位类型",
            "sector": "新兴领域", "district_name": "区县", "street_name": "街道",
            "community_name": "社区",
            "employees": "从业人员数", "party_members": "正式党员数", "party_org": "党组织建立情况"}),
        FollowUp("work_uncovered", "工作未覆盖组织", {
            "org_name": "单位名称", "org_id": "统一社会信用代码", "org_type": "单位类型",
            "sector": "新兴领域", "district_name": "区县", "street_name": "街道",
            "community_name": "社区",
            "employees": "从业人员数", "party_members": "正式党员数"}),
    ],
)

render(*current(), PAGE)
