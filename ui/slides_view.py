"""Draw one slide of ``metrics.exports.slides.Deck`` for the big screen (large type, plotly charts)."""

from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st

from metrics import colours as C
from metrics.exports.pptx import DOUGHNUT  # the same colours as the PPTX and the PDF
from metrics.exports.slides import ChartSpec, Deck, Slide, TableSpec, doughnut_legend
from metrics.supervision import LIGHT_COLORS, YELLOW
from ui.charts import FONT, TARGET

BIG = 22


def _fig_layout(fig: go.Figure, height: int) -> go.Figure:
    # Room above the plot for the labels of bars at 100% (the axis stops there).
    fig.update_layout(height=height, margin={"l": 10, "r": 30, "t": 90, "b": 10},
                      font={"family": FONT, "size": BIG, "color": "#1F2933"},
                      plot_bgcolor="white", paper_bgcolor="white",
                      legend={"orientation": "h", "y": 1.16, "font": {"size": 18}})
    return fig


# 演示模式 lays a slide out at this fixed width (a 1920-pixel screen less its margins) and scales
# the whole slide to the screen; its charts get fixed pixel sizes, because plotly measures its
# box on screen (after the scaling) and would otherwise draw itself scaled twice.
STAGE_WIDTH = 1840
PRESENT_HEIGHTS = {"chart": 740, "chart2": 560}


def chart_figure(spec: ChartSpec, height: int = 560, width: int | None = None, *,
                 domain: str | None = None) -> go.Figure:
    """``domain``: a doughnut takes that domain's colours, the PPTX's (已完成 green, 逾期 red …);
    ``width``: a fixed width in pixels (演示模式)."""
    pct = "%" in spec.number_format
    fmt = (lambda v: "—" if v is None else f"{v:.1%}") if pct else (
        lambda v: "—" if v is None else f"{v:,.1f}" if isinstance(v, float) and not v.is_integer() else f"{v:,.0f}")
    fig = go.Figure()
    if spec.kind == "bar":
        name, values = next(iter(spec.series.items()))
        targets = spec.target_values() or [None] * len(values)
        # The PPTX's colours: each bar's metrics.colours class, decided once in the deck model.
        classes = spec.colours or [None] * len(values)
        colours = [C.HEX[c] if c is not None else C.HEX[C.NO_TARGET] for c in classes]
        marks = spec.marks or [None] * len(values)
        text = [("红榜 " if m == "red" else "黑榜 " if m == "black" else "") + fmt(v)
                for v, m in zip(values, marks, strict=True)]
        # Not in the plotly legend (one swatch cannot say three colours): the legend line
        # above the chart does that.
        fig.add_trace(go.Bar(x=spec.categories, y=values, marker_color=colours, text=text,
                             textposition="outside", cliponaxis=False, name=name,
                             textfont={"size": 18}, showlegend=False))
        if any(t is not None for t in targets):
            fig.add_trace(go.Scatter(x=spec.categories, y=targets, mode="lines+markers",
                                     name=spec.target_label, line={"color": TARGET, "dash": "dash",
                                                                   "width": 3}))
        lo, hi, step = spec.axis()  # the PPTX's and the PDF's scale: rates 0–100%, from 0
        fig.update_yaxes(range=[lo, hi], dtick=step, tickformat=".0%" if pct else ",d",
                         gridcolor="#E3E8EF")
        fig.update_xaxes(tickfont={"size": 18 if len(values) <= 10 else 14})
    elif spec.kind == "line":
        palette = ["#1F4E8C", "#D08A2E", "#2F7F7A"]
        for i, (name, values) in enumerate(spec.series.items()):
            fig.add_trace(go.Scatter(x=spec.categories, y=values, mode="lines+markers+text",
                                     name=name, text=[fmt(v) for v in values],
                                     textposition="top center", textfont={"size": 15},
                                     line={"width": 4, "color": palette[i % 3]}, marker={"size": 10}))
        t = spec.target_values()
        if t and any(x is not None for x in t):
            fig.add_trace(go.Scatter(x=spec.categories, y=t, mode="lines", name=spec.target_label,
                                     line={"color": TARGET, "dash": "dash", "width": 3}))
        lo, hi, step = spec.axis()
        fig.update_yaxes(range=[lo, hi], dtick=step, tickformat=".0%" if pct else ",d",
                         gridcolor="#E3E8EF", tickfont={"size": 16})
        fig.update_xaxes(type="category", tickfont={"size": 16})
    else:  # doughnut: counts and shares in the legend, never on (thin) slices
        name, values = next(iter(spec.series.items()))
        labels = [f"{c}　{v:,.0f}（{share}）" for c, v, share in doughnut_legend(spec)]
        colours = ["#" + c for c in DOUGHNUT.get(domain or "", DOUGHNUT["coverage"])]
        fig.add_trace(go.Pie(labels=labels, values=[v or 0 for v in values], hole=0.55,
                             textinfo="none", sort=False, marker={"colors": colours}))
        _fig_layout(fig, height)
        fig.update_layout(title={"text": spec.title, "x": 0.5, "xanchor": "center",
                                 "font": {"size": 18}},
                          legend={"orientation": "v", "y": -0.05, "yanchor": "top",
                                  "x": 0.5, "xanchor": "center", "font": {"size": 18}},
                          margin={"l": 10, "r": 10, "t": 50, "b": 10})
        if width is not None:
            fig.update_layout(width=width, autosize=False)
        return fig
    fig = _fig_layout(fig, height)
    if width is not None:
        fig.update_layout(width=width, autosize=False)
    return fig


def _table_html(spec: TableSpec) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in spec.columns)
    body = []
    marks = spec.marks or [None] * len(spec.rows)
    lights = spec.cell_marks or [[]] * len(spec.rows)
    for row, mark, lit in zip(spec.rows, marks, lights, strict=True):
        cls = ' class="gb-row-red"' if mark == "red" else (' class="gb-row-black"' if mark == "black" else "")
        cells = []
        for j, c in enumerate(row):
            light = lit[j] if j < len(lit) else None
            style = (f' style="background:{LIGHT_COLORS[light]};color:'
                     f'{"#1F2933" if light == YELLOW else "#fff"};font-weight:700;text-align:center"'
                     if light else "")
            if spec.cell_marks:  # a 红黄绿灯 table: "74.3% 红灯" and names on one line
                style = (style[:-1] + ';white-space:nowrap"') if style else ' style="white-space:nowrap"'
            cells.append(f'<td data-light="{light or ""}"{style}>{html.escape(str(c))}</td>')
        body.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    size = ' style="font-size:1.05rem"' if spec.cell_marks else ""
    return (f'<table class="gb-slide-table"{size}><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def render(deck: Deck, s: Slide, index: int, *, text: str | None = None,
           present: bool = False) -> None:
    """One slide; ``text`` is the presenter's edited 通报 paragraph, when there is one;
    ``present``: laid out for 演示模式 (fixed sizes, see ``STAGE_WIDTH``)."""
    demo = '<span class="gb-demo">示例数据</span> ' if deck.is_demo else ""
    st.markdown(
        f'<div class="gb-slide-head">{demo}<span class="gb-slide-no">{index + 1} / {len(deck.slides)}</span></div>'
        f'<h1 class="gb-slide-title">{html.escape(s.title)}</h1>'
        + (f'<div class="gb-slide-sub">{html.escape(s.subtitle)}</div>' if s.subtitle else ""),
        unsafe_allow_html=True)
    body = text if text is not None else s.text
    if s.kind == "title":
        st.markdown("<br>".join(f'<div class="gb-title-line">{html.escape(b)}</div>' for b in s.bullets),
                    unsafe_allow_html=True)
    elif s.kind == "overview":
        cols = st.columns(4)
        for i, k in enumerate(s.kpis):
            with cols[i % 4]:
                colour = "#2E7D32" if k.target_met else ("#C62828" if k.target_met is False else "#44505F")
                st.markdown(
                    f'<div class="gb-kpi"><div class="gb-kpi-label">{html.escape(k.label)}</div>'
                    f'<div class="gb-kpi-big">{html.escape(k.display)}</div>'
                    f'<div class="gb-kpi-change">{html.escape(k.change_display)}</div>'
                    f'<div class="gb-kpi-target" style="color:{colour}">{html.escape(k.target_display)}</div></div>',
                    unsafe_allow_html=True)
    elif s.kind in ("ranking", "trend"):
        if s.chart is not None and s.chart.legend:
            st.markdown(f'<div class="gb-slide-sub gb-slide-legend">{html.escape(s.chart.legend)}'
                        '</div>', unsafe_allow_html=True)
        if s.chart is not None:
            fig = (chart_figure(s.chart, PRESENT_HEIGHTS["chart"], STAGE_WIDTH) if present
                   else chart_figure(s.chart))
            st.plotly_chart(fig, key=f"slide_chart_{index}", width="content" if present else "stretch",
                            config={"displayModeBar": False, "staticPlot": True})
    elif s.kind == "lights":
        if s.table is not None:
            st.markdown(_table_html(s.table), unsafe_allow_html=True)
    elif s.kind == "problems":
        left, right = st.columns([3, 2])
        with left:
            if s.table is not None and s.table.rows:
                st.markdown(_table_html(s.table), unsafe_allow_html=True)
            else:
                st.markdown('<div class="gb-title-line">暂无需要跟进的事项</div>', unsafe_allow_html=True)
        with right:
            if s.chart2 is not None:
                fig = (chart_figure(s.chart2, PRESENT_HEIGHTS["chart2"], STAGE_WIDTH * 2 // 5 - 40,
                                     domain=s.domain)
                       if present else chart_figure(s.chart2, height=420, domain=s.domain))
                st.plotly_chart(fig, key=f"slide_chart2_{index}",
                                width="content" if present else "stretch",
                                config={"displayModeBar": False, "staticPlot": True})
    elif s.kind == "closing":
        st.markdown("".join(f'<div class="gb-bullet">• {html.escape(b)}</div>' for b in s.bullets),
                    unsafe_allow_html=True)
    if body and s.kind not in ("title", "closing"):
        st.markdown(f'<div class="gb-bulletin">{html.escape(body).replace(chr(10), "<br>")}</div>',
                    unsafe_allow_html=True)
    st.markdown(f'<div class="gb-slide-foot">{html.escape(deck.footer(s))}</div>',
                unsafe_allow_html=True)


# 演示模式: the slide box covers the whole screen; every control stays on the page but hidden
# (the arrow keys still press 上一页/下一页 and the widgets keep their values).
PRESENT_CSS = """<style>
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stExpandSidebarButton"], header, [data-testid="stHeader"],
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  .st-key-gb_controls, .st-key-gb_nav, .st-key-gb_after,
  [data-testid="stAlertContainer"] { display: none !important; }
  html, body, [data-testid="stApp"], [data-testid="stAppViewContainer"],
  [data-testid="stMain"] { overflow: hidden !important; }
  .st-key-gb_slide { position: fixed !important; inset: 0 !important; z-index: 999990;
    width: 100vw !important; height: 100vh !important; max-width: none !important;
    margin: 0 !important; border: none !important; border-radius: 0 !important;
    background: #FFFFFF; padding: 16px 40px !important; overflow: hidden !important;
    box-sizing: border-box; }
  .st-key-gb_stage { width: %dpx !important; max-width: none !important; flex: none !important; }
  .st-key-gb_exit { position: fixed !important; bottom: 8px; left: 12px; z-index: 999999;
    width: auto !important; opacity: 0.45; }
  .st-key-gb_exit:hover, .st-key-gb_exit:focus-within { opacity: 1; }
</style>"""

# Runs in the page (not an iframe). Installed once per browser tab: it scales the slide to fit
# the screen, asks for browser full screen when 演示模式 is switched on (inside the click, the
# only moment a browser allows it) and leaves 演示模式 when full screen ends (Esc).
PRESENTER_JS = """<script>
(() => {
  if (window.__gbPresenter) return;
  window.__gbPresenter = true;
  const exitButton = () => document.querySelector('.st-key-exit_present button');
  let observed = null, queued = false;
  const resize = new ResizeObserver(() => schedule());
  function fit() {
    queued = false;
    const box = document.querySelector('.st-key-gb_slide');
    const stage = document.querySelector('.st-key-gb_stage');
    if (!stage) return;
    if (!exitButton() || !box) {
      stage.style.transform = stage.style.marginLeft = '';
      return;
    }
    if (observed !== stage) { resize.observe(stage); observed = stage; }
    const cs = getComputedStyle(box);
    const roomH = box.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    const roomW = box.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    // offsetWidth/offsetHeight are the laid-out size, before the transform.
    const scale = Math.min(roomW / stage.offsetWidth, roomH / stage.offsetHeight);
    if (!(scale > 0)) return;
    stage.style.transformOrigin = 'top left';
    stage.style.transform = `scale(${scale.toFixed(4)})`;
    stage.style.marginLeft = `${Math.max(0, (roomW - stage.offsetWidth * scale) / 2)}px`;
  }
  function schedule() { if (!queued) { queued = true; requestAnimationFrame(fit); } }
  new MutationObserver(schedule).observe(document.body, {childList: true, subtree: true});
  window.addEventListener('resize', schedule);
  document.addEventListener('click', (e) => {
    const t = e.target;
    if (!(t instanceof Element)) return;
    if (t.closest('.st-key-present') && !exitButton()) {
      window.__gbLeaving = false;
      if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(() => {});
      }
    }
    if (t.closest('.st-key-exit_present')) {
      window.__gbLeaving = true;
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    }
  }, true);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && exitButton()) {
      window.__gbLeaving = true;
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    }
  }, true);
  document.addEventListener('fullscreenchange', () => {
    if (!document.fullscreenElement && exitButton() && !window.__gbLeaving) {
      window.__gbLeaving = true;
      exitButton().click();
    }
  });
})();
</script>"""


def presenter_script() -> None:
    st.html(PRESENTER_JS, unsafe_allow_javascript=True, width=1)


def present_mode() -> None:
    st.html(PRESENT_CSS.replace("%dpx", f"{STAGE_WIDTH}px"))
