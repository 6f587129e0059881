"""Plotly figures (no Streamlit here): ranking bars, trends, breakdowns, the map.

Colour carries meaning only: a ranking bar follows ``metrics.colours`` (green target met, red
missed, grey no target: the same rule as the slides and the PPTX) and its legend names the
classes drawn. Fonts are the app's own CJK font; nothing is fetched from outside (no tiles, no web fonts).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from metrics import colours as C
from metrics.definitions import METRICS, format_value, kind_of

FONT = "noto-sans-sc, Noto Sans CJK SC, Microsoft YaHei, sans-serif"
MET, NOT_MET, NEUTRAL, TARGET = C.HEX[C.MET], C.HEX[C.MISSED], "#4A6A8C", "#37474F"
GRID = "#E3E8EF"
# The whole look lives here: pages draw with Streamlit's theme off (components.plotly_chart).
TEMPLATE = go.layout.Template(layout={
    "colorway": ["#1F4E8C", "#D08A2E", "#2F7F7A", "#7B5EA7"],
    # Tight margins that grow to fit the tick labels (unit names are 2 to 10 characters).
    "xaxis": {"gridcolor": GRID, "zerolinecolor": "#C9D1DB", "linecolor": "#C9D1DB",
              "automargin": True},
    "yaxis": {"gridcolor": GRID, "zerolinecolor": "#C9D1DB", "linecolor": "#C9D1DB",
              "automargin": True},
})


def _layout(fig: go.Figure, *, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height, margin={"l": 10, "r": 20, "t": 40 if title else 10, "b": 10},
        font={"family": FONT, "size": 14, "color": "#1F2933"},
        title={"text": title, "font": {"size": 16}} if title else None,
        plot_bgcolor="white", paper_bgcolor="white", showlegend=False,
        hoverlabel={"font": {"family": FONT}}, template=TEMPLATE,
    )
    return fig


def _axis_format(key: str, top: float | None = None) -> dict:
    """Tick format by kind; small count ranges get whole-number steps (no "0 0 1 1" ticks). A
    column that is no metric key (a plain row count of a ledger) is a count."""
    kind = kind_of(key)
    if kind == "rate":
        return {"tickformat": ".0%"}
    if kind == "count":
        fmt: dict = {"tickformat": ",d"}
        if top is not None and top <= 10:
            fmt["dtick"] = 1
        return fmt
    return {"tickformat": ".1f"}


def ranking_bars(ranked: pd.DataFrame, key: str, targets: dict | None, *,
                 height: int | None = None, drillable: bool = True) -> go.Figure:
    """Horizontal bars, best at the top; each unit's own target as a dark tick on its bar. The
    colour of a bar is ``metrics.colours.bar_class`` (the slides' rule); the legend under the
    chart names the classes drawn. ``drillable=False``: rows that are no units (责任单位) say
    nothing about drilling down."""
    df = ranked[ranked[key].notna()]
    targets = targets or {}
    classes, tick_x, tick_y = [], [], []
    for code, name, value in zip(df["unit_code"], df["unit_name"], df[key], strict=True):
        t = targets.get(code)
        classes.append(C.bar_class(value, t["target_met"] if t else None))
        if t is not None:
            tick_x.append(t["target"])
            tick_y.append(name)
    colours = [C.HEX[c] for c in classes]
    labels = [format_value(key, v) for v in df[key]]
    marks = ["红榜 " if r else ("黑榜 " if b else "") for r, b in zip(df["red"], df["black"], strict=True)]
    fig = go.Figure(go.Bar(
        x=df[key], y=df["unit_name"], orientation="h", marker_color=colours,
        text=[f"{m}{lab}" for m, lab in zip(marks, labels, strict=True)], textposition="outside",
        cliponaxis=False, customdata=df[["unit_code"]].to_numpy(),
        hovertemplate="%{y}: %{text}<extra>" + ("点击下钻" if drillable else "") + "</extra>",
    ))
    # A bar of length zero has nothing to click: a faint marker at each bar's end does.
    fig.add_trace(go.Scatter(
        x=df[key], y=df["unit_name"], mode="markers", customdata=df[["unit_code"]].to_numpy(),
        marker={"size": 14, "color": "rgba(0,0,0,0.01)"}, hoverinfo="skip", showlegend=False,
    ))
    if tick_x:
        fig.add_trace(go.Scatter(
            x=tick_x, y=tick_y, mode="markers", name="目标",
            marker={"symbol": "line-ns", "size": 22, "line": {"width": 3, "color": TARGET}},
            hovertemplate="目标 %{x:.1%}<extra></extra>",
        ))
    n = len(df)
    fig.update_yaxes(autorange="reversed", tickfont={"size": 14})
    xmax = float(df[key].max()) if n else 1.0
    if METRICS[key].kind == "rate":
        fig.update_xaxes(range=[0, max(1.0, xmax) * 1.14], gridcolor=GRID, **_axis_format(key))
    else:
        fig.update_xaxes(range=[0, (xmax or 1) * 1.25], gridcolor=GRID,
                         **_axis_format(key, xmax))
    _layout(fig, height=height or max(260, 34 * n + 60))
    text = C.legend(classes)
    if text:
        if tick_x:
            text += "；深色短线为各单位年度目标"
        # Above the bars: below them sit the value axis's tick labels.
        fig.add_annotation(text=text, name="legend", xref="paper", yref="paper", x=0, y=1,
                           yshift=6, showarrow=False, xanchor="left", yanchor="bottom",
                           font={"size": 12, "color": "#5F6B7A"})
        fig.update_layout(margin={"t": 34})
    return fig


def trend_lines(trend: pd.DataFrame, keys: list[str], target: float | None = None) -> go.Figure:
    fig = go.Figure()
    palette = ["#1F4E8C", "#D08A2E", "#2F7F7A", "#7B5EA7"]
    for i, key in enumerate(keys):
        fig.add_trace(go.Scatter(
            x=trend["month"], y=trend[key], mode="lines+markers", name=METRICS[key].label,
            line={"width": 3, "color": palette[i % len(palette)]},
            hovertemplate=f"{METRICS[key].label} %{{x}}: %{{y:{'.1%' if METRICS[key].is_rate else ',.1f'}}}<extra></extra>",
        ))
    if target is not None:
        fig.add_hline(y=target, line_dash="dash", line_color=TARGET,
                      annotation_text=f"年度目标 {target:.1%}", annotation_position="top left")
    if keys:
        fig.update_yaxes(gridcolor=GRID, **_axis_format(keys[0]))
    fig.update_xaxes(type="category")
    _layout(fig, height=320)
    fig.update_layout(showlegend=len(keys) > 1, legend={"orientation": "h", "y": 1.12})
    return fig


def breakdown_bars(df: pd.DataFrame, value: str, *, label: str, top: int = 12) -> go.Figure:
    d = df.head(top)
    fig = go.Figure(go.Bar(
        x=d[value], y=d["item"], orientation="h", marker_color=NEUTRAL,
        text=[format_value(value, v) for v in d[value]],
        textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{text}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed")
    top_value = float(d[value].max()) if len(d) and d[value].notna().any() else 1.0
    # Room past the longest bar for its label ("100.0%").
    fig.update_xaxes(gridcolor=GRID, range=[0, (top_value or 1) * 1.3],
                     **_axis_format(value, top_value))
    return _layout(fig, height=max(220, 30 * len(d) + 60), title=label)


def _is_dark(colour: str) -> bool:
    """Whether white text reads better than dark text on ``colour`` ("#RRGGBB" or "rgb(r, g, b)")."""
    if colour.startswith("#"):
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (float(x) for x in colour[colour.index("(") + 1:colour.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 140


def _rings(geometry: dict) -> list[list]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    return [poly[0] for poly in geometry["coordinates"]]


def choropleth(features: dict, df: pd.DataFrame, key: str, targets: dict | None, *,
               lights: dict[str, str | None] | None = None, light_rule: str = "") -> go.Figure:
    """Units one level down, coloured by the metric, drawn from the GeoJSON polygons on plain
    axes (an equirectangular projection fitted to the features): no tile server and no base map
    to download. Each unit's label marker carries its code, so a click drills down.

    With targets the colour says met (green) or missed (red) and how far; without, a neutral
    blue scale from the lowest to the highest value (red and green only where they mean
    something). With ``lights`` (unit code → ``supervision`` state) a unit with a light takes
    its 红黄绿灯 colour, the same as on cards, tables and slides, and the legend names the rule
    (``light_rule``)."""
    import math

    from plotly.colors import sample_colorscale

    from metrics.supervision import LIGHT_COLORS, LIGHT_LABELS

    m = METRICS[key]
    by_code = {f["properties"]["code"]: f for f in features["features"]}
    targets = targets or {}
    fig = go.Figure()
    lats: list[float] = []
    label_x, label_y, label_code, label_hover, label_text = [], [], [], [], []
    label_colour: list[str] = []
    values = df.set_index("unit_code")[key]
    finite = values.dropna()
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    blues = [[0, "#DCE6F2"], [1, "#1F4E8C"]]
    for code, name in zip(df["unit_code"], df["unit_name"], strict=True):
        f = by_code.get(code)
        if f is None:
            continue
        v = values.get(code)
        t = targets.get(code)
        state = (lights or {}).get(code)
        if v is None or pd.isna(v):
            colour = "#D5DAE1"
        elif state is not None:
            colour = LIGHT_COLORS[state]
        elif t is not None and t.get("target_met") is not None:
            # 0 at the target, full colour 10 points away.
            strength = min(1.0, abs(float(v) - t["target"]) / 0.10)
            colour = sample_colorscale([[0, "#F1F3F5"], [1, MET if t["target_met"] else NOT_MET]],
                                       [0.25 + 0.75 * strength])[0]
        else:
            pos = 0.5 if hi == lo else (float(v) - lo) / (hi - lo)
            colour = sample_colorscale(blues, [1 - pos if m.fewer_is_better else pos])[0]
        xs, ys = [], []
        for ring in _rings(f["geometry"]):
            xs += [p[0] for p in ring] + [None]
            ys += [p[1] for p in ring] + [None]
        lats += [y for y in ys if y is not None]
        text = f"{name}<br>{m.label} {format_value(key, v)}"
        if t is not None:
            text += f"<br>目标 {t['target']:.1%}"
        if state is not None:
            text += f"<br>{LIGHT_LABELS[state]}"
        fig.add_trace(go.Scatter(x=xs, y=ys, fill="toself", fillcolor=colour, mode="lines",
                                 line={"color": "white", "width": 1.5}, hoveron="fills",
                                 text=text, hoverinfo="text", showlegend=False))
        ring = _rings(f["geometry"])[0]
        cx = sum(p[0] for p in ring[:-1]) / max(1, len(ring) - 1)
        cy = sum(p[1] for p in ring[:-1]) / max(1, len(ring) - 1)
        label_x.append(cx)
        label_y.append(cy)
        label_code.append([code])
        label_hover.append(text)
        label_text.append(f"<b>{name}</b><br>{format_value(key, v)}")
        label_colour.append("#FFFFFF" if _is_dark(colour) else "#1F2933")
    # One text trace for all labels (an annotation per unit cost the browser far more); its
    # markers carry the codes, so a click on a label drills down.
    fig.add_trace(go.Scatter(
        x=label_x, y=label_y, mode="markers+text", customdata=label_code, hovertext=label_hover,
        text=label_text, textposition="middle center",
        textfont={"size": 12, "color": label_colour, "shadow": "auto"},
        hovertemplate="%{hovertext}<extra>点击下钻</extra>", showlegend=False,
        marker={"size": 28, "color": "rgba(0,0,0,0.01)"},
    ))
    lat0 = sum(lats) / len(lats) if lats else 30.0
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / math.cos(math.radians(lat0)))
    drawn = [s for s in (lights or {}).values() if s is not None]
    if drawn:
        legend = "、".join(f"{LIGHT_LABELS[s]}" for s in ("green", "yellow", "red") if s in drawn)
        legend = f"颜色为红黄绿灯({legend})：{light_rule}" if light_rule else f"颜色为红黄绿灯({legend})"
    else:
        legend = None
    if legend is None:
        legend = "绿色达标、红色未达标，颜色越深差距越大" if targets else "颜色越深数值越" + ("小" if m.fewer_is_better else "大")
    fig.add_annotation(text=legend, xref="paper", yref="paper", x=0, y=-0.02, showarrow=False,
                       font={"size": 12, "color": "#5F6B7A"}, xanchor="left", yanchor="top")
    return _layout(fig, height=480)
