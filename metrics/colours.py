"""What a ranking bar's colour means: one rule for the screen, the 演示 slides, the PPTX and the
PDF.

A bar is coloured by whether its unit reaches its own year target (``targets.with_targets``'s
``target_met``): green met, red missed, grey no target (a count, or a rate nobody set a target
for). 红榜/黑榜 are written on the bar, never coloured, so no colour means two things. The
legend is generated from the classes actually drawn and states the rule.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

MET, MISSED, NO_TARGET = "met", "missed", "no_target"
CLASSES = (MET, MISSED, NO_TARGET)  # legend order
HEX = {MET: "#2E7D32", MISSED: "#C62828", NO_TARGET: "#9AA5B1"}
NAMES = {MET: "绿色", MISSED: "红色", NO_TARGET: "灰色"}
MEANINGS = {MET: "达到年度目标", MISSED: "未达到年度目标", NO_TARGET: "未设年度目标"}


def bar_class(value: object, target_met: object) -> str | None:
    """The colour class of one unit's bar (None: no value, so no bar is drawn)."""
    if value is None or pd.isna(value):
        return None
    if target_met is None or pd.isna(target_met):
        return NO_TARGET
    return MET if bool(target_met) else MISSED


def legend(classes: Iterable[str | None]) -> str:
    """The rule, naming only the classes drawn: "柱色：绿色为达到年度目标，红色为未达到年度目标"."""
    drawn = set(classes)
    parts = [f"{NAMES[c]}为{MEANINGS[c]}" for c in CLASSES if c in drawn]
    return "柱色：" + "，".join(parts) if parts else ""


def rgb_hex(cls: str) -> str:
    """"2E7D32": the class's colour as PowerPoint writes it."""
    return HEX[cls].lstrip("#").upper()
