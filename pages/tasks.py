"""重点任务督办: the 重点任务 and 民生项目 of the 推进会 — completion and on-time rates by unit and
by 责任单位, and the 督办清单 (overdue and 临期 tasks)."""

from ui.domain_page import Breakdown, DomainPage, FollowUp, render
from ui.state import current

# The days first after the task (the list is read by them), the 检验标准 last (long text).
_TASK = {"task_id": "任务编号", "title": "任务名称"}
_REST = {"owner": "责任单位", "district_name": "区县", "street_name": "街道",
         "due_on": "完成时限", "status": "状态", "progress": "完成进度", "kind": "任务类别",
         "acceptance": "检验标准"}

PAGE = DomainPage(
    domain="tasks",
    title="重点任务督办",
    headline=["task_completion_rate", "task_on_time_rate", "tasks", "tasks_done",
              "tasks_overdue", "max_overdue_days", "tasks_due_soon"],
    rank_keys=["task_completion_rate", "task_on_time_rate", "tasks_overdue", "max_overdue_days",
               "tasks_due_soon"],
    trend_keys=["task_completion_rate", "task_on_time_rate"],
    breakdowns=[Breakdown("kind", "tasks", "任务类别·任务数"),
                Breakdown("status", "tasks_listed", "状态·任务数(含已终止)")],
    follow_ups=[
        FollowUp("tasks_overdue", "超期任务", {**_TASK, "overdue_days": "超期天数", **_REST},
                 percent=("progress",)),
        FollowUp("tasks_due_soon", "临期任务", {**_TASK, "days_left": "剩余天数", **_REST},
                 percent=("progress",)),
    ],
    group_rankings=("owner",),
)

render(*current(), PAGE)
