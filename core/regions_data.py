"""GB/T 2260 codes loaded by core's data migration: Inner Mongolia, its 12 league/city-level
units, and the counties/districts of Wuhai (the first configured city).

The whole region (DOMAIN §8) is in `data/regions_150000.csv`, read by `read_regions_file`
for the later data migration; the lists here stay what migration 0002 loaded.
"""

import csv
from pathlib import Path

PROVINCE = ("150000", "内蒙古自治区")

CITIES = [
    ("150100", "呼和浩特市"),
    ("150200", "包头市"),
    ("150300", "乌海市"),
    ("150400", "赤峰市"),
    ("150500", "通辽市"),
    ("150600", "鄂尔多斯市"),
    ("150700", "呼伦贝尔市"),
    ("150800", "巴彦淖尔市"),
    ("150900", "乌兰察布市"),
    ("152200", "兴安盟"),
    ("152500", "锡林郭勒盟"),
    ("152900", "阿拉善盟"),
]

COUNTIES = [
    ("150302", "海勃湾区"),
    ("150303", "海南区"),
    ("150304", "乌达区"),
]


REGIONS_FILE = Path(__file__).resolve().parent / "data" / "regions_150000.csv"


def read_regions_file(path: Path = REGIONS_FILE) -> tuple[list[dict], list[dict]]:
    """(current units, superseded codes) of the GB/T 2260 file, parents before children.

    A row with a `successor` is a superseded code (loaded as a RegionAlias); every other row is
    a current unit. Lines starting with `#` are comments (the source is named there).
    """
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    current, superseded = [], []
    for row in csv.DictReader(lines):
        row = {key: (value or "").strip() for key, value in row.items()}
        (superseded if row["successor"] else current).append(row)
    current.sort(key=lambda row: int(row["level"]))
    return current, superseded
