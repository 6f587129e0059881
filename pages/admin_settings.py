"""系统设置 (admins): the settings of settings.json for every user, and 清除示例数据
while tables still hold the demo city."""

from ui import admin

admin.page("系统设置", admin.settings_section)
