"""Settlement rows for the clearing tests, as the monitoring import stores them (§9.2)."""

import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from core import idnumber

# The monitoring tests' §9.2 row and file helpers (tests/monitoring/monitoring_helpers.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "monitoring"))

_counter = iter(range(1, 10**9))


def settlement(
    *,
    maf_pay,
    setl_time: date = date(2023, 7, 10),
    code: str = "H15030200001",
    name: str = "海勃湾区人民医院",
    visit: str = "inpatient",
    region: str = "150302",
    reversal_of: str = "",
    setl_id: str | None = None,
    medfee=None,
):
    """One settlement whose assistance paid at the counter is `maf_pay` (negative for a
    reversal). The other funds pay nothing, the person pays the rest of `medfee`."""
    from monitoring.models import Settlement

    n = next(_counter)
    maf = Decimal(str(maf_pay))
    medfee = Decimal(str(medfee)) if medfee is not None else maf * 2
    return Settlement.objects.create(
        setl_id=setl_id or f"S{n:08d}",
        psn_name="测试人",
        certno=idnumber.make(region, date(1960 + n % 40, 1 + n % 12, 1 + n % 28), n % 1000),
        insutype="390",
        med_type={"inpatient": "21", "chronic_outpatient": "14"}.get(visit, "11"),
        visit_type=visit,
        begndate=setl_time,
        enddate=setl_time,
        year=setl_time.year,
        setl_time=datetime(
            setl_time.year, setl_time.month, setl_time.day, 10, 0, tzinfo=idnumber.CHINA_TZ
        ),
        fixmedins_code=code,
        fixmedins_name=name,
        insu_admdvs_id=region,
        medfee_sumamt=medfee,
        inscp_scp_amt=medfee,
        fulamt_ownpay_amt=Decimal("0.00"),
        hifp_pay=Decimal("0.00"),
        hifmi_pay=Decimal("0.00"),
        maf_pay=maf,
        fund_pay_sumamt=maf,
        psn_part_amt=medfee - maf,
        refd_setl_flag=bool(reversal_of),
        init_setl_id=reversal_of,
    )


def import_rows(tmp_path, rows):
    """Import §9.2 rows (the monitoring helpers' `srow` dicts) through the real service."""
    from monitoring_helpers import write_csv

    from monitoring.settlements import settlement_import

    result = settlement_import(path=write_csv(tmp_path / "extract.csv", rows))
    assert not result.errors, result.errors
    return result


def assisted_row(sid, n, *, maf_pay, med_type="21", code="H15030200001", reversal_of=None):
    """A §9.2 row (monitoring helpers' `srow`) with `maf_pay` of assistance in its funds."""
    from monitoring_helpers import certno, srow

    sign = -1 if reversal_of else 1
    maf = sign * Decimal(maf_pay)
    row = srow(sid, certno(n), "400.00", enddate="2023-07-10", reversal_of=reversal_of)
    row.update(
        med_type=med_type,
        fixmedins_code=code,
        maf_pay=maf,
        fund_pay_sumamt=row["fund_pay_sumamt"] + maf,
        psn_part_amt=row["psn_part_amt"] - maf,
    )
    return row
