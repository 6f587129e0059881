"""Build the web-font subsets served by the app from static/fonts/.

Subsets Debian's Noto Sans CJK (package ``fonts-noto-cjk``) to the
Simplified-Chinese face and a character set that covers dashboard text:

* printable ASCII and Latin-1 (°, ×, ÷, ·, ...),
* general punctuation (— … ‘’ “” ‰ ※ ...), letter-like symbols (℃ №),
  number forms (Ⅰ Ⅱ ...), arrows, enclosed alphanumerics (①②...),
* CJK symbols and punctuation (、。《》【】...) and half/full-width forms,
* GB2312 symbol rows 1-3 and 6 (symbols, numbers, full-width ASCII, Greek),
* GB2312 level-1 hanzi (3,755 most common characters, bytes 0xB0A1-0xD7F9),
* a short list of extra characters common in Chinese administrative text
  that are not in GB2312 level 1 (see ``EXTRA_CHARS``), plus ``--extra``.

Writes ``static/fonts/NotoSansSC-Regular.woff2``, ``-Bold.woff2`` and
``static/fonts/OFL.txt`` (the font's copyright notice plus the SIL Open Font
License 1.1 text taken from Debian's copyright file).

Usage:  .venv/bin/python tools/make_font_subset.py [--extra "字符"] [--out DIR]
Needs:  fonttools + brotli (requirements-dev.txt) and fonts-noto-cjk (apt).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
DEBIAN_COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")
FAMILY = "Noto Sans CJK SC"
WEIGHTS = {"Regular": "NotoSansCJK-Regular.ttc", "Bold": "NotoSansCJK-Bold.ttc"}
REPO_ROOT = Path(__file__).resolve().parent.parent

# Characters outside GB2312 level 1 that show up in grid-governance / 党建 text.
# (GB2312 level 2 or later; add more with --extra and re-run.)
EXTRA_CHARS = (
    "鑫淼焱垚磊犇骉晟昊旻昱暄曦琰琪瑶瑾璐璇珺珏玥钰铖锟镕堃喆赟頔"
    "祎祐禕婧婕媛嫣妤娴姝翀翊翎羿彧懿蕊蔚萱芮芃茜菁莘浛淇涵溢滢潇澍"
    "芊楠桦梓楷榕槿橦栩桐柏柘杞枫楸棣棠樾檬琳玮璟瑜瑛瑄珂琦珊韬韫弢"
    "埇垌垭埌埗埒塝塄塥墕堌圩垸坳坨坭峁岙峪峒嵛嶂浜浃泾渚沱潍"
)


def gb2312_chars(first: int, last: int) -> set[str]:
    """Decode every valid two-byte GB2312 code in rows first..last (0xA1-based)."""
    chars: set[str] = set()
    for hi in range(first, last + 1):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def gb2312_level1() -> set[str]:
    chars = gb2312_chars(0xB0, 0xD7)  # 0xD7FA-0xD7FE are unassigned and skipped
    assert len(chars) == 3755, len(chars)
    return chars


def charset(extra: str = "") -> set[str]:
    ranges = [
        (0x0020, 0x007E),  # ASCII
        (0x00A0, 0x00FF),  # Latin-1 supplement
        (0x2000, 0x206F),  # general punctuation
        (0x2100, 0x214F),  # letterlike symbols (℃ №)
        (0x2150, 0x218F),  # number forms (Ⅰ Ⅱ)
        (0x2190, 0x21FF),  # arrows
        (0x2460, 0x24FF),  # enclosed alphanumerics (① ⑴ ⒈)
        (0x25A0, 0x25FF),  # geometric shapes (■ □ ▲ ● ○)
        (0x2605, 0x2606),  # ★ ☆
        (0x3000, 0x303F),  # CJK symbols and punctuation
        (0x3200, 0x32FF),  # enclosed CJK (㈠ ㊣)
        (0xFF00, 0xFFEF),  # half-width and full-width forms
    ]
    chars: set[str] = set()
    for lo, hi in ranges:
        chars.update(chr(c) for c in range(lo, hi + 1))
    for row in (0xA1, 0xA2, 0xA3, 0xA6):  # symbols, numbers, full-width, Greek
        chars |= gb2312_chars(row, row)
    chars |= gb2312_level1()
    chars |= set(EXTRA_CHARS) | set(extra)
    return {c for c in chars if not c.isspace() or c == " "}


def find_face(ttc_path: Path, family: str) -> int:
    """Index of the font in a .ttc whose name-table family (ID 1) is ``family``."""
    collection = TTCollection(str(ttc_path), lazy=True)
    for index, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == family:
            return index
    raise SystemExit(f"{family!r} not found in {ttc_path}")


def make_subset(ttc_path: Path, out_path: Path, text: set[str]) -> tuple[int, int]:
    index = find_face(ttc_path, FAMILY)
    font = TTFont(str(ttc_path), fontNumber=index, lazy=False, recalcTimestamp=False)
    cmap = font.getBestCmap()
    wanted = sorted(ord(c) for c in text)
    present = [cp for cp in wanted if cp in cmap]

    options = subset.Options()
    options.flavor = "woff2"
    options.hinting = False  # CFF hints add size and do little on screens
    options.desubroutinize = False  # keep CFF subroutines: smaller output
    options.layout_features = ["*"]  # keep kerning, vertical forms, ligatures
    options.name_IDs = ["*"]  # keep copyright, licence and trademark strings
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.recalc_timestamp = False  # reproducible output
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=present)
    subsetter.subset(font)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    font.flavor = "woff2"
    font.save(str(out_path))
    return len(present), len(wanted)


def license_text() -> str:
    font = TTFont(str(NOTO_DIR / WEIGHTS["Regular"]), fontNumber=0, lazy=True)
    name = font["name"]
    notice = [
        "Files: NotoSansSC-Regular.woff2, NotoSansSC-Bold.woff2",
        "Subsets of Noto Sans CJK SC (Debian package fonts-noto-cjk), made by",
        "tools/make_font_subset.py. These are Modified Versions under the SIL OFL 1.1.",
        "",
        f"Copyright {name.getDebugName(0).lstrip('© ').strip().rstrip('.')}, "
        "with Reserved Font Name 'Source'.",
        name.getDebugName(7) or "",
        "",
    ]
    # The stand-alone "License: SIL-1.1" paragraph of the Debian copyright file
    # holds the text, one space-indented line each, "." marking blank lines.
    lines = DEBIAN_COPYRIGHT.read_text(encoding="utf-8").splitlines()
    body: list[str] = []
    for i, line in enumerate(lines[:-1]):
        if line.strip() == "License: SIL-1.1" and lines[i + 1].startswith(" "):
            for cont in lines[i + 1 :]:
                if not cont.startswith(" "):
                    break
                body.append("" if cont.strip() == "." else cont[1:])
            break
    if not any("SIL OPEN FONT LICENSE" in b for b in body):
        raise SystemExit(f"could not extract the OFL text from {DEBIAN_COPYRIGHT}")
    return "\n".join(notice + body).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "static" / "fonts")
    parser.add_argument("--extra", default="", help="extra characters to include")
    args = parser.parse_args(argv)

    missing = [
        p for p in [*(NOTO_DIR / f for f in WEIGHTS.values()), DEBIAN_COPYRIGHT] if not p.exists()
    ]
    if missing:
        print("missing: " + ", ".join(map(str, missing)), file=sys.stderr)
        print("install it with: apt-get install fonts-noto-cjk", file=sys.stderr)
        return 1

    text = charset(args.extra)
    for weight, ttc in WEIGHTS.items():
        out = args.out / f"NotoSansSC-{weight}.woff2"
        got, asked = make_subset(NOTO_DIR / ttc, out, text)
        size = out.stat().st_size
        print(
            f"{out.relative_to(REPO_ROOT) if out.is_relative_to(REPO_ROOT) else out}: "
            f"{got}/{asked} code points, {size / 1e6:.2f} MB"
        )
    (args.out / "OFL.txt").write_text(license_text(), encoding="utf-8")
    print(f"{args.out / 'OFL.txt'} written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
