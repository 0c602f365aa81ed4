"""GB/T 2260 codes loaded by core's data migration: Inner Mongolia, its 12 league/city-level
units, and the counties/districts of Wuhai (the first configured city)."""

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
