"""The district's mediation centers (调解中心), from a data file.

The 14 centers of DOMAIN.md are the default; another district points
`TIAOJIE_CENTERS_FILE` at its own JSON list of
`{center_id, name, kind, demonstration, code}` (`code` prefixes case numbers).
"""

import dataclasses
import functools
import json
from pathlib import Path

from .config import environment

DEFAULT_CENTERS_FILE = Path(__file__).parent / "data" / "centers.json"


@dataclasses.dataclass(frozen=True)
class Center:
    center_id: str
    name: str
    kind: str
    demonstration: bool
    code: str


@functools.lru_cache(maxsize=8)
def _load(path):
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    centers = tuple(Center(**entry) for entry in raw)
    ids = [c.center_id for c in centers]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate center ids")
    return centers


def load_centers(path=None):
    return _load(str(path or environment().get("TIAOJIE_CENTERS_FILE") or DEFAULT_CENTERS_FILE))


def centers_by_id(path=None):
    return {c.center_id: c for c in load_centers(path)}
