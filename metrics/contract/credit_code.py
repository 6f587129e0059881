"""统一社会信用代码 (GB 32100-2015): the character set and the check digit.

Validation warns on a failed check digit; the demo city writes codes that pass it. The 18th
character is ``CHARSET[(31 − Σ value(cᵢ)·wᵢ mod 31) mod 31]`` over the first 17, where a
character's value is its index in ``CHARSET``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3^i mod 31
PATTERN = rf"[{CHARSET}]{{18}}"

_INDEX = {c: i for i, c in enumerate(CHARSET)}
CHARSET_BYTES = np.frombuffer(CHARSET.encode("ascii"), dtype=np.uint8)
BYTE_VALUE = np.full(256, -1, dtype=np.int64)
BYTE_VALUE[CHARSET_BYTES] = np.arange(len(CHARSET))


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 (ValueError for a wrong length or character)."""
    if not isinstance(first17, str) or len(first17) != 17:
        raise ValueError("需要 17 位统一社会信用代码本体")
    try:
        total = sum(_INDEX[ch] * w for ch, w in zip(first17.upper(), WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"统一社会信用代码含非法字符: {exc.args[0]!r}") from None
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """18 characters of ``CHARSET`` (upper case, as the contract requires) whose last is the
    check digit of the first 17."""
    if not isinstance(code, str) or len(code) != 18 or any(ch not in _INDEX for ch in code):
        return False
    return check_digit(code[:17]) == code[17]


def check_digit_bytes(body: np.ndarray) -> np.ndarray:
    """Vectorised ``check_digit``: (n, 17) uint8 ASCII matrix → n uint8 ASCII characters."""
    total = BYTE_VALUE[body] @ np.asarray(WEIGHTS, dtype=np.int64)
    return CHARSET_BYTES[(31 - total % 31) % 31]


def valid_vector(codes: pd.Series) -> np.ndarray:
    """Vectorised ``is_valid`` for codes already known to match ``PATTERN``."""
    if codes.empty:
        return np.zeros(0, dtype=bool)
    arr = np.frombuffer("".join(codes.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    return check_digit_bytes(arr[:, :17]) == arr[:, 17]
