"""The server: the dashboard (app.py) plus the HTTP routes that keep a login across reloads.

``streamlit run serve.py`` (what ``make run`` does) finds the ``st.App`` below and serves app.py
with ui/session_routes.py's routes beside Streamlit's own. ``streamlit run app.py`` still works,
but then a login lasts only as long as the browser tab.
"""

import streamlit as st

from ui import warm
from ui.session_routes import routes

app = st.App("app.py", routes=routes())
# The reports a leader's first view asks for, computed while nobody is looking yet (ui/warm.py).
warm.start(wait_for_runtime=True)
