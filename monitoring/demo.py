"""Demo settlements and alerts for Wuhai (used by `seed_demo`); idempotent.

`demo_data/settlements_wuhai_2023.csv` is a settlement extract in the platform's field codes for
the demo persons of `beneficiaries.demo` (and three persons known only from settlements). It is
imported through the real service (re-importing skips every row) and every check is run for
2023, so the queue holds alerts of each watch: 因病致贫 (no identity, 因病致贫重病患者, persons
known only from settlements), 因病返贫 (易返贫致贫人口, 低保边缘), and rows that must not alert
(特困/低保 holders, a burden exactly on the line, a burden brought under it by a reversal).
Regenerate the file with `python -c "from monitoring.demo import write_file; write_file()"`.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

DATA = Path(__file__).resolve().parent / "demo_data"
FILE = DATA / "settlements_wuhai_2023.csv"
YEAR = 2023

INSTITUTIONS = [
    # code, name, level, region
    ("H15030200001", "乌海市人民医院", 3, "150302"),
    ("H15030200002", "乌海市海勃湾区人民医院", 2, "150302"),
    ("H15030300001", "乌海市海南区人民医院", 2, "150303"),
    ("H15030400001", "乌海市乌达区人民医院", 2, "150304"),
    ("P15030200001", "乌海市海勃湾区康民大药房", 1, "150302"),
]

# Demo person index (beneficiaries.demo.demo_people) -> yearly burden to produce.
BURDENS = {
    0: "48000.00",  # destitute: never watched
    1: "26000.00",  # subsistence: never watched
    3: "13800.50",  # poverty_risk: 因病返贫
    4: "12600.00",  # near_subsistence (employee insurance): 因病返贫
    5: "10000.00",  # near_subsistence under the line
    6: "25500.00",  # illness_impoverished: 因病致贫
    12: "11000.01",  # near_subsistence one fen above the line: 因病返贫
    14: "22000.00",  # illness_impoverished exactly on the line: no alert
    24: "31200.00",  # no identity: 因病致贫
    25: "23800.00",  # no identity: 因病致贫
    26: "45600.80",  # no identity: 因病致贫
    27: "9800.00",
    30: "5200.00",
}
REVERSED = 28  # 25,000 then a 6,000 reversal: 19,000, no alert
SETTLEMENT_ONLY = [
    # (name, region, birth, seq, burden)
    ("高玉兰", "150303", date(1958, 4, 12), 801, "28900.00"),
    ("巴特尔", "150304", date(1971, 9, 3), 803, "24100.00"),
    ("刘春花", "150302", date(1983, 1, 30), 805, "7000.00"),
]

HEADER = [
    "setl_id",
    "psn_name",
    "certno",
    "psn_cert_type",
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

CENT = Decimal("0.01")


def _split(total: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    cuts = sorted(rng.uniform(0.15, 0.85) for _ in range(parts - 1))
    shares, last = [], Decimal(0)
    for cut in cuts:
        value = (total * Decimal(str(round(cut, 4)))).quantize(CENT)
        shares.append(value - last)
        last = value
    shares.append(total - last)
    return shares


def _row(
    seq,
    name,
    certno,
    region,
    burden: Decimal,
    end: date,
    rng,
    *,
    inpatient=True,
    maf=Decimal("0.00"),
    institution=None,
    insutype="390",
    out_of_catalog=None,
):
    code, inst_name, _level, _region = institution or INSTITUTIONS[seq % 4]
    stay = rng.randint(3, 15) if inpatient else 0
    fund = (burden * Decimal(str(rng.choice([1.2, 1.6, 2.3, 3.1])))).quantize(CENT) + maf
    medfee = burden + fund
    fulamt = (
        out_of_catalog if out_of_catalog is not None else (burden * Decimal("0.08")).quantize(CENT)
    )
    hifmi = ((fund - maf) * Decimal("0.15")).quantize(CENT)
    hifp = fund - maf - hifmi
    return {
        "setl_id": f"DEMO{YEAR}{seq:05d}",
        "psn_name": name,
        "certno": certno,
        "psn_cert_type": "01",
        "insutype": insutype,
        "med_type": "21" if inpatient else "11",
        "begndate": (end - timedelta(days=stay)).isoformat(),
        "enddate": end.isoformat(),
        "setl_time": f"{end.isoformat()} {9 + seq % 8:02d}:{seq % 60:02d}:00",
        "fixmedins_code": code,
        "fixmedins_name": inst_name,
        "insu_admdvs": region,
        "medfee_sumamt": f"{medfee:.2f}",
        "inscp_scp_amt": f"{medfee - fulamt:.2f}",
        "fulamt_ownpay_amt": f"{fulamt:.2f}",
        "hifp_pay": f"{hifp:.2f}",
        "hifmi_pay": f"{hifmi:.2f}",
        "maf_pay": f"{maf:.2f}",
        "fund_pay_sumamt": f"{fund:.2f}",
        "psn_part_amt": f"{burden:.2f}",
        "hosp_part_amt": "0.00",
        "refd_setl_flag": "0",
        "init_setl_id": "",
        "vali_flag": "1",
    }


def _negate(row: dict, seq: int, amount_share: Decimal) -> dict:
    reversal = dict(row)
    reversal["setl_id"] = f"DEMO{YEAR}{seq:05d}"
    reversal["refd_setl_flag"] = "1"
    reversal["init_setl_id"] = row["setl_id"]
    reversal["setl_time"] = row["enddate"] + " 16:30:00"
    for name in [
        "medfee_sumamt",
        "inscp_scp_amt",
        "fulamt_ownpay_amt",
        "hifp_pay",
        "hifmi_pay",
        "maf_pay",
        "fund_pay_sumamt",
        "psn_part_amt",
        "hosp_part_amt",
    ]:
        reversal[name] = f"{-(Decimal(row[name]) * amount_share).quantize(CENT):.2f}"
    # Keep psn_part_amt = medfee − fund − hosp exactly after rounding.
    reversal["psn_part_amt"] = (
        f"{Decimal(reversal['medfee_sumamt']) - Decimal(reversal['fund_pay_sumamt']) - Decimal(reversal['hosp_part_amt']):.2f}"
    )
    return reversal


def build_rows() -> list[dict]:
    """The demo extract: each demo person's year, then the cases each check must find, then
    persons known only from settlements, then July's rows for the clearing demo. One seeded
    random generator, drawn in this order, so every seed_demo builds the same extract."""
    from beneficiaries.demo import demo_people

    rng = random.Random(8)
    people = list(demo_people())
    rows = _person_year_rows(people, rng)
    rows += _check_case_rows(people, len(rows) + 1, rng)
    rows += _settlement_only_rows(len(rows) + 1, rng)
    rows.extend(_july_clearing_rows(people, len(rows) + 1, rng))
    return rows


def _person_year_rows(people, rng) -> list[dict]:
    """Each demo person's settlements of the year (ordinary, high cost, one reversed)."""
    rows: list[dict] = []
    seq = 1
    for index, (name, certno, region, _residence) in enumerate(people):
        burden = BURDENS.get(index)
        if index == REVERSED:
            first = _row(seq, name, certno, region, Decimal("25000.00"), date(YEAR, 4, 18), rng)
            rows.append(first)
            seq += 1
            rows.append(_negate(first, seq, Decimal("0.24")))
            seq += 1
            continue
        if burden is None:
            # An ordinary year: one or two outpatient settlements.
            for _ in range(1 + index % 2):
                end = date(YEAR, rng.randint(1, 11), rng.randint(1, 28))
                rows.append(
                    _row(
                        seq,
                        name,
                        certno,
                        region,
                        Decimal(rng.randint(80, 900)),
                        end,
                        rng,
                        inpatient=False,
                        institution=INSTITUTIONS[4],
                    )
                )
                seq += 1
            continue
        total = Decimal(burden)
        parts = 1 if total < 12000 else 3
        for share in _split(total, parts, rng):
            end = date(YEAR, rng.randint(1, 11), rng.randint(1, 28))
            insutype = "310" if index == 4 else "390"
            # Beneficiaries get one-stop assistance at the counter (一站式结算).
            maf = (share * Decimal("0.6")).quantize(CENT) if index < 24 else Decimal("0.00")
            rows.append(
                _row(seq, name, certno, region, share, end, rng, insutype=insutype, maf=maf)
            )
            seq += 1
    return rows


def _check_case_rows(people, seq: int, rng) -> list[dict]:
    rows: list[dict] = []
    # Beneficiaries' inpatient stays without assistance at the counter (漏报销) and with
    # assistance after the identity no longer covered them.
    for index in (2, 9):
        name, certno, region, _ = people[index]
        rows.append(_row(seq, name, certno, region, Decimal("3400.00"), date(YEAR, 6, 12), rng))
        seq += 1
    name, certno, region, _ = people[30]
    rows.append(
        _row(
            seq,
            name,
            certno,
            region,
            Decimal("900.00"),
            date(YEAR, 7, 2),
            rng,
            maf=Decimal("1260.00"),
        )
    )
    seq += 1
    # An institution far above its out-of-catalog limit in August (P §29).
    for index in (31, 32, 33):
        name, certno, region, _ = people[index]
        rows.append(
            _row(
                seq,
                name,
                certno,
                region,
                Decimal("2600.00"),
                date(YEAR, 8, 10 + index % 10),
                rng,
                institution=INSTITUTIONS[1],
                out_of_catalog=Decimal("2400.00"),
            )
        )
        seq += 1
    return rows


def _settlement_only_rows(seq: int, rng) -> list[dict]:
    """Persons the platform knows and the portal does not (their burden still counts)."""
    from core import idnumber

    rows: list[dict] = []
    for name, region, birth, number, burden in SETTLEMENT_ONLY:
        certno = idnumber.make(region, birth, number)
        for share in _split(Decimal(burden), 2, rng):
            end = date(YEAR, rng.randint(2, 11), rng.randint(1, 28))
            rows.append(_row(seq, name, certno, region, share, end, rng))
            seq += 1
    return rows


CROSS_AREA_INSTITUTION = ("H15010200001", "内蒙古医科大学附属医院", 3, "150102")


def _july_clearing_rows(people, seq, rng) -> list[dict]:
    """One-stop settlements that give the July 2023 clearing of 150300 (DOMAIN §10) what a
    clearing has to show: a stay in Hohhot (cleared through the cross-area payee), a chronic
    outpatient line, and a July settlement reversed in July (a negative line). The persons are
    特困 holders, never watched for high cost, so the alerts stay as they were."""
    rows = []
    name, certno, region, _ = people[7]
    rows.append(
        _row(
            seq,
            name,
            certno,
            region,
            Decimal("2400.00"),
            date(YEAR, 7, 14),
            rng,
            maf=Decimal("1440.00"),
            institution=CROSS_AREA_INSTITUTION,
        )
    )
    name, certno, region, _ = people[15]
    stay = _row(
        seq + 1,
        name,
        certno,
        region,
        Decimal("1800.00"),
        date(YEAR, 7, 5),
        rng,
        maf=Decimal("1080.00"),
        institution=INSTITUTIONS[0],
    )
    rows.append(stay)
    rows.append(_negate(stay, seq + 2, Decimal("0.5")))  # refunded the same day, half
    name, certno, region, _ = people[8]
    chronic = _row(
        seq + 3,
        name,
        certno,
        region,
        Decimal("600.00"),
        date(YEAR, 7, 18),
        rng,
        inpatient=False,
        maf=Decimal("360.00"),
        institution=INSTITUTIONS[3],
    )
    chronic["med_type"] = "14"  # 门诊慢特病
    rows.append(chronic)
    return rows


def write_file(path: Path = FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(build_rows())
    return path


def seed(*, users) -> dict[str, int]:
    from monitoring.checks import CheckAlreadyRunning, check_names, check_run
    from monitoring.importing import settlement_import
    from monitoring.models import Alert, CheckRun, Settlement

    # The institutions (and their levels, for the out-of-catalog check) are the claims app's
    # register, seeded by claims.demo with the same codes as INSTITUTIONS.
    # Seeding is a system path, like the command and the beat schedule (`by=None`): the
    # national platform's extract is not one user's upload.
    result = settlement_import(path=str(FILE), by=None)
    if result.errors:
        raise RuntimeError(f"demo settlement file has row errors: {result.errors[:3]}")
    # Idempotent: once the demo year has been checked, a re-run that imported nothing new
    # leaves the runs and alerts as they are.
    already = CheckRun.objects.filter(period=str(YEAR)).values_list("check_name", flat=True)
    for name in check_names():
        if name in set(already) and not result.imported:
            continue
        try:
            check_run(name=name, period=str(YEAR), by=None)
        except CheckAlreadyRunning:
            pass
    clearings = _seed_clearing()
    return {
        "settlements": Settlement.objects.filter(setl_id__startswith=f"DEMO{YEAR}").count(),
        "clearings": clearings,
        "alerts": Alert.objects.count(),
    }


def _seed_clearing() -> int:
    """The July 2023 clearing of Wuhai as a draft computed by the system (`by=None`, as the
    `clear_settlements` command does), once: the supervisor approves it and the accountant
    records the payment (a third person: neither may have computed it)."""
    from funds.clearing import clearing_compute
    from funds.models import Clearing

    if not Clearing.objects.filter(fund__area_id="150300", year=YEAR, month=7).exists():
        clearing_compute(area_code="150300", period=f"{YEAR}-07", by=None)
    return Clearing.objects.filter(fund__area_id="150300").count()
