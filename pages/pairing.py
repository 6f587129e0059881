"""结对联建: pairings, co-building projects and monthly 双报到."""

from ui.domain_page import Breakdown, DomainPage, FollowUp, render
from ui.state import current

PAGE = DomainPage(
    domain="pairing",
    title="结对联建",
    headline=["pairing_coverage_rate", "project_completion_rate", "project_on_time_rate",
              "pairings_active", "projects", "projects_overdue", "members_reported", "activities"],
    rank_keys=["pairing_coverage_rate", "project_completion_rate", "project_on_time_rate",
               "projects_overdue"],
    trend_keys=["pairing_coverage_rate", "project_completion_rate"],
    breakdowns=[Breakdown("partner_level", "pairings_active", "结对单位层级·结对关系数"),
                Breakdown("kind", "projects", "项目类别·共建项目数")],
    follow_ups=[
        FollowUp("overdue_projects", "逾期未完成项目", {
            "title": "项目名称", "kind": "项目类别", "status": "状态", "due_on": "计划完成日期",
            "partner_name": "结对单位", "district_name": "区县", "street_name": "街道",
            "community_name": "社区", "overdue_days": "逾期天数"}),
    ],
)

render(*current(), PAGE)
