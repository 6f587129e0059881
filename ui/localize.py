"""Chinese where Streamlit itself would speak English.

Streamlit 1.67 has no language setting. Its fixed texts are replaced in ``static/app.css`` (the
file uploader, the skip link); its "Page not found" dialog is avoided here: a link to a page
the navigation does not have gets a hidden stand-in page, which sends the reader to 总览 with a
Chinese notice instead.
"""

from __future__ import annotations

import re

import streamlit as st

from ui.state import _notice

# What st.Page accepts as a url_path (one path segment).
_URL_PATH = re.compile(r"^[\w\-.~%]+$")


def asked_page() -> str | None:
    """The page name of the URL this run was asked for, when it came from the address bar (not
    from a click in the navigation, which names a page the app has)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        manager = get_script_run_ctx().pages_manager
        if manager.intended_page_script_hash:
            return None
        return manager.intended_page_name or None
    except Exception:  # noqa: BLE001 - internals moved: fall back to Streamlit's own dialog
        return None


def with_not_found(sections: dict[str, list]) -> dict[str, list]:
    """The navigation's ``sections`` plus, when the URL names none of their pages, a hidden page
    under that name (in the first section) which notes what was asked and switches to the
    default page (the first of the first section)."""
    asked = asked_page()
    pages = [p for section in sections.values() for p in section]
    # The default page answers at / and under its own name (st.Page keeps that in _url_path).
    known = {p.url_path for p in pages} | {getattr(p, "_url_path", None) for p in pages}
    if not asked or asked in known or not _URL_PATH.match(asked):
        return sections
    home = pages[0]  # app.py lists the default page (总览) first
    text = f"找不到页面“{asked}”(链接可能已过期)，现显示{home.title}。"

    def not_found() -> None:
        _notice(text)
        st.switch_page(home)

    first, *_ = sections
    stand_in = st.Page(not_found, title="找不到页面", url_path=asked, visibility="hidden")
    return {**sections, first: [*sections[first], stand_in]}


# The case no stand-in page can catch: a server's very first request runs in Streamlit's folder
# routing, and the default page's own name (/overview) is not a path Streamlit answers. The
# English dialog that follows is put in Chinese, or closed when the page asked for is 总览.
_DIALOG_JS = """<script>
(() => {
  if (window.__gbNotFound) return;
  window.__gbNotFound = true;
  const home = %s;
  function fix() {
    for (const box of document.querySelectorAll('[role="dialog"]')) {
      const title = box.querySelector('h2');
      if (!title || title.textContent.trim() !== 'Page not found') continue;
      const asked = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
      const close = box.querySelector('button[aria-label="Close"]');
      if (asked === home && close) { close.click(); continue; }
      title.textContent = '找不到页面';
      const body = title.nextElementSibling;
      if (body) body.textContent = `链接中的页面“${asked}”不存在，现显示总览。`;
      if (close) close.setAttribute('aria-label', '关闭');
    }
  }
  fix();
  new MutationObserver(fix).observe(document.body, {childList: true, subtree: true});
})();
</script>"""


def install(home_url_path: str) -> None:
    """Once per page run, in the sidebar (it draws nothing)."""
    import json

    st.sidebar.html(_DIALOG_JS % json.dumps(home_url_path), unsafe_allow_javascript=True, width=1)
