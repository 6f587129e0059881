"""问题解决: work orders — response, closure, on-time, resolution, satisfaction, backlog."""

from ui.domain_page import Breakdown, DomainPage, FollowUp, render
from ui.state import current

PAGE = DomainPage(
    domain="issues",
    title="问题解决",
    headline=["reported", "close_rate", "on_time_rate", "response_rate", "resolve_rate",
              "satisfaction_rate", "score", "open_overdue"],
    rank_keys=["score", "close_rate", "on_time_rate", "response_rate", "resolve_rate",
               "satisfaction_rate", "open_overdue", "avg_close_hours"],
    trend_keys=["close_rate", "satisfaction_rate", "response_rate"],
    breakdowns=[Breakdown("category", "reported", "问题类别·受理量(前12)"),
                Breakdown("source", "reported", "来源·受理量")],
    follow_ups=[
        FollowUp("overdue_orders", "超期未办结工单", {
            "issue_id": "工单编号", "district_name": "区县", "street_name": "街道",
            "community_name": "社区", "grid_code": "网格代码",
            "source": "来源", "category": "问题类别", "reported_at": "上报时间",
            "due_at": "办理时限", "overdue_days": "超期天数"}),
    ],
)

render(*current(), PAGE)
