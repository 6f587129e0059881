"""定时报告 (admins): the scheduled weekly and monthly reports, and running the due ones."""

from ui import admin

admin.page("定时报告", admin.schedules_section)
