"""Settlement rows for the clearing tests, as the monitoring import stores them (§9.2)."""

from datetime import date, datetime
from decimal import Decimal

from core import idnumber

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
