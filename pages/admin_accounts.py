"""账户与权限 (admins): the local accounts, their roles and scopes; unlock and remove."""

from ui import admin

admin.page("账户与权限", admin.accounts_section)
