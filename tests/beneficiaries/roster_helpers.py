"""Roster files for the tests: the header of DOMAIN §9.1 and a CSV writer."""

import csv
import io

HEADER = [
    "姓名",
    "公民身份号码",
    "救助对象类别",
    "认定日期",
    "终止日期",
    "行政区划代码",
    "联系电话",
]


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)
