"""A second city for the demo (DOMAIN §8): 包头市 (150200) with its own policy, copied from
Wuhai's, a few persons, one application awaiting Baotou's supervisor and a few one-stop
settlements, so scoping across cities can be seen. Idempotent, like every `<app>/demo.py`.
"""

import csv
import tempfile
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

from core import idnumber
from core.models import Policy, Region

AREA = "150200"
PERSONS = [
    # seq, name, county, category, born
    (1, "巴特尔", "150203", "subsistence", date(1958, 3, 12)),  # 昆都仑区
    (2, "高秀兰", "150202", "near_subsistence", date(1966, 9, 2)),  # 东河区
    (3, "其其格", "150207", "destitute", date(1949, 11, 20)),  # 九原区
    (4, "王建军", "150221", "poverty_risk", date(1972, 5, 8)),  # 土默特右旗
]
HOSPITAL = ("H15020300001", "包头市中心医院", 3, "150203")
SETTLEMENT_HEADER = [
    "setl_id", "psn_name", "certno", "psn_cert_type", "insutype", "med_type", "begndate",
    "enddate", "setl_time", "fixmedins_code", "fixmedins_name", "insu_admdvs", "medfee_sumamt",
    "inscp_scp_amt", "fulamt_ownpay_amt", "hifp_pay", "hifmi_pay", "maf_pay", "fund_pay_sumamt",
    "psn_part_amt", "hosp_part_amt", "refd_setl_flag", "init_setl_id", "vali_flag",
]  # fmt: skip


def _policy(admin) -> Policy:
    from core.policy_services import policy_copy

    existing = Policy.objects.filter(area_id=AREA).first()
    if existing:
        return existing
    wuhai = Policy.objects.filter(area_id="150300").order_by("valid_from").first()
    return policy_copy(
        source=wuhai,
        area=Region.objects.get(code=AREA),
        valid_from=wuhai.valid_from,
        name="包头市医疗救助政策（2023年起，演示：复制自乌海市）",
        by=admin,
    )


def _persons(by) -> list:
    from beneficiaries.models import Person
    from beneficiaries.services import identity_grant, person_register

    people = []
    for seq, name, county, category, born in PERSONS:
        number = idnumber.make(county, born, 700 + seq)
        person = Person.objects.filter(id_number=number).first()
        if person is None:
            region = Region.objects.get(code=county)
            person = person_register(id_number=number, name=name, region=region, by=by)
            identity_grant(
                person=person, category=category, start=date(2023, 1, 1), region=region, by=by
            )
        people.append(person)
    return people


def _application(person, by, today: date) -> int:
    from claims import bills, services
    from claims.models import Application, Institution

    if not Application.objects.filter(person=person).exists():
        code, name, level, admdvs = HOSPITAL
        hospital, _ = Institution.objects.get_or_create(
            code=code, defaults={"name": name, "level": level, "admdvs": admdvs, "designated": True}
        )
        application = services.application_create(
            person=person,
            by=by,
            received_on=today - timedelta(days=3),
            channel=Application.Channel.COUNTER,
            documents=["id_card", "invoices", "discharge_summary"],
            bank_name="中国农业银行包头分行",
            bank_account="6228480000000702",
        )
        bills.bill_add(
            application=application,
            by=by,
            institution=hospital,
            visit_type="inpatient",
            admitted=today - timedelta(days=30),
            discharged=today - timedelta(days=21),
            invoice_number="BT-DEMO-0001",
            total_cost=D("26000.00"),
            policy_range_cost=D("24000.00"),
            basic_insurance_paid=D("14400.00"),
            critical_illness_paid=D("1600.00"),
            out_of_catalog_cost=D("0"),
        )
        services.application_submit(application=application, by=by)
    return Application.objects.filter(area_id=AREA).count()


def _settlement_row(seq: int, person, maf: D) -> dict:
    code, name, _level, _admdvs = HOSPITAL
    end = date(2023, 3 + seq, 10)
    burden = D("3000.00") - maf
    return {
        "setl_id": f"BTDEMO2023{seq:04d}",
        "psn_name": person.name,
        "certno": person.id_number,
        "psn_cert_type": "01",
        "insutype": "390",
        "med_type": "21",
        "begndate": (end - timedelta(days=6)).isoformat(),
        "enddate": end.isoformat(),
        "setl_time": f"{end.isoformat()} 10:30:00",
        "fixmedins_code": code,
        "fixmedins_name": name,
        "insu_admdvs": person.region_id,
        "medfee_sumamt": "10000.00",
        "inscp_scp_amt": "9500.00",
        "fulamt_ownpay_amt": "500.00",
        "hifp_pay": "6000.00",
        "hifmi_pay": "1000.00",
        "maf_pay": f"{maf:.2f}",
        "fund_pay_sumamt": f"{D('7000.00') + maf:.2f}",
        "psn_part_amt": f"{burden:.2f}",
        "hosp_part_amt": "0.00",
        "refd_setl_flag": "0",
        "init_setl_id": "",
        "vali_flag": "1",
    }


def _settlements(people) -> int:
    from monitoring.models import Settlement
    from monitoring.settlements import settlement_import

    rows = [
        _settlement_row(i, p, D("900.00") if i % 2 else D("0.00")) for i, p in enumerate(people)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "baotou-demo.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=SETTLEMENT_HEADER)
            writer.writeheader()
            writer.writerows(rows)
        result = settlement_import(path=str(path), by=None)
    if result.errors:
        raise RuntimeError(f"Baotou demo settlements have row errors: {result.errors[:3]}")
    return Settlement.objects.filter(setl_id__startswith="BTDEMO").count()


def seed(*, users, today: date) -> dict[str, int]:
    """Baotou's policy, persons, one submitted application and its settlements."""
    _policy(users["admin"])
    people = _persons(users["caseworker_baotou"])
    applications = _application(people[1], users["caseworker_baotou"], today)
    settlements = _settlements(people)
    return {
        "baotou_persons": len(people),
        "baotou_applications": applications,
        "baotou_settlements": settlements,
    }
