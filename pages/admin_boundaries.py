"""地图边界 (admins): upload the district and street boundaries of the maps, or restore
the previous file."""

from ui import admin

admin.page("地图边界", admin.boundaries_section)
