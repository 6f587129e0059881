"""操作日志 (admins): the latest entries of the audit log, and all of it as CSV."""

from ui import admin

admin.page("操作日志", admin.audit_section)
