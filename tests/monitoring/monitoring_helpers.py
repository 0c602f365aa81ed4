"""Helpers for the monitoring tests: settlement rows and files in the platform's field codes."""

import csv
from datetime import date
from decimal import Decimal

from core import idnumber

HEADER = [
    "setl_id",
    "psn_name",
    "certno",
    "insutype",
    "med_type",
    "begndate",
    "enddate",
    "setl_time",
    "fixmedins_code",
    "fixmedins_name",
    "insu_admdvs",
    "medfee_sumamt",
    "inscp_scp_amt",
    "fulamt_ownpay_amt",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "hosp_part_amt",
    "refd_setl_flag",
    "init_setl_id",
    "vali_flag",
]


def certno(n: int, region: str = "150302") -> str:
    return idnumber.make(region, date(1960 + n % 40, 1 + n % 12, 1 + n % 28), n % 1000)


def srow(sid, cert, burden="400.00", *, enddate="2023-03-10", reversal_of=None, **over):
    """A consistent settlement row whose personal burden (psn_part_amt) is `burden`.

    Funds pay 600 (basic 500, critical illness 100); out-of-catalog 0. A reversal row
    (`reversal_of`) negates every amount.
    """
    burden = Decimal(str(burden))
    fund = Decimal("600.00")
    sign = -1 if reversal_of else 1
    medfee = burden + fund
    row = {
        "setl_id": sid,
        "psn_name": "测试人",
        "certno": cert,
        "insutype": "390",
        "med_type": "21",
        "begndate": enddate,
        "enddate": enddate,
        "setl_time": f"{enddate} 10:00:00",
        "fixmedins_code": "H15030001",
        "fixmedins_name": "乌海市人民医院",
        "insu_admdvs": "150302",
        "medfee_sumamt": sign * medfee,
        "inscp_scp_amt": sign * fund,
        "fulamt_ownpay_amt": Decimal("0.00"),
        "hifp_pay": sign * Decimal("500.00"),
        "hifmi_pay": sign * Decimal("100.00"),
        "maf_pay": Decimal("0.00"),
        "fund_pay_sumamt": sign * fund,
        "psn_part_amt": sign * burden,
        "hosp_part_amt": Decimal("0.00"),
        "refd_setl_flag": "1" if reversal_of else "0",
        "init_setl_id": reversal_of or "",
        "vali_flag": "1",
    }
    row.update(over)
    return row


def write_csv(path, rows, header=None, encoding="utf-8"):
    header = header or HEADER
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(h, "") for h in header])
    return str(path)
