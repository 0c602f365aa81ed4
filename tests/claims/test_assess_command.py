"""`manage.py assess` — the DOMAIN §4 contract: JSON in, JSON out, no database.

No test here is marked django_db: pytest-django refuses any database access, which proves the
command never touches it.
"""

import copy
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]

POLICY = {
    "annual_cap": "80000.00",
    "categories": {
        "destitute": {"deductible": "0", "ratio": "1.00"},
        "subsistence": {"deductible": "0", "ratio": "0.75"},
        "poverty_risk": {"deductible": "0", "ratio": "0.70"},
        "near_subsistence": {"deductible": "5000.00", "ratio": "0.70"},
        "illness_impoverished": {"deductible": "12500.00", "ratio": "0.70"},
    },
    "rank": [
        "destitute",
        "subsistence",
        "poverty_risk",
        "near_subsistence",
        "illness_impoverished",
        "other_special",
    ],
    "tilted": {"deductible": "7000.00", "ratio": "0.60"},
}
ZERO_STATE = {"deductible_used": "0", "assistance_paid": "0", "tilted_deductible_used": "0"}
NEAR_SUBSISTENCE = [{"category": "near_subsistence", "start": "2023-01-01", "end": None}]

BILL_A = {
    "id": "A",
    "visit_type": "inpatient",
    "admitted": "2023-03-01",
    "discharged": "2023-03-10",
    "service_date": None,
    "designated": True,
    "in_coordination_area": True,
    "in_region": True,
    "referred": False,
    "total_cost": "32000.00",
    "policy_range_cost": "30000.00",
    "basic_insurance_paid": "18000.00",
    "critical_illness_paid": "2000.00",
}


def bill(**fields):
    return {**BILL_A, **fields}


def outpatient(day, **fields):
    return bill(
        visit_type="chronic_outpatient",
        admitted=None,
        discharged=None,
        service_date=day,
        total_cost="1200.00",
        policy_range_cost="1000.00",
        basic_insurance_paid="0.00",
        critical_illness_paid="0.00",
        **fields,
    )


def document(bills, identities=NEAR_SUBSISTENCE, year_to_date=ZERO_STATE, policy=POLICY):
    return {
        "policy": policy,
        "identities": identities,
        "year_to_date": year_to_date,
        "bills": bills,
    }


def assess(data, tmp_path):
    """Run the command on ``data`` and return its parsed output."""
    path = tmp_path / "input.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    stdout = StringIO()
    call_command("assess", str(path), stdout=stdout)
    return json.loads(stdout.getvalue())


def refuse(data, tmp_path):
    """Run the command on invalid ``data``: it must fail with status 2 and print nothing."""
    path = tmp_path / "input.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    stdout = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("assess", str(path), stdout=stdout)
    assert error.value.returncode == 2
    assert stdout.getvalue() == ""
    return str(error.value)


def figures(result):
    keys = (
        "self_pay",
        "deductible_applied",
        "assistance",
        "tilted_deductible_applied",
        "tilted_assistance",
        "total",
    )
    return tuple(result[key] for key in keys)


# --- Worked examples A–F ------------------------------------------------------------------


def test_example_a_gives_the_contract_output(tmp_path):
    output = assess(document([BILL_A]), tmp_path)

    (result,) = output["bills"]
    steps = result.pop("steps")
    assert result == {
        "id": "A",
        "covered": True,
        "reason": None,
        "category": "near_subsistence",
        "self_pay": "10000.00",
        "deductible_applied": "5000.00",
        "assistance": "3500.00",
        "tilted_deductible_applied": "6500.00",
        "tilted_assistance": "0.00",
        "total": "3500.00",
    }
    assert "起付标准 5,000.00 元，已累计 0.00 元，本次扣除 5,000.00 元" in steps
    assert output["year_to_date"] == {
        "deductible_used": "5000.00",
        "assistance_paid": "3500.00",
        "tilted_deductible_used": "6500.00",
    }


def test_example_b_second_bill_uses_the_state_left_by_the_first(tmp_path):
    second = bill(
        id="B",
        admitted="2023-04-01",
        discharged="2023-04-05",
        total_cost="12000.00",
        policy_range_cost="10000.00",
        basic_insurance_paid="5000.00",
        critical_illness_paid="1000.00",
    )
    output = assess(document([BILL_A, second]), tmp_path)

    assert figures(output["bills"][1]) == (
        "4000.00",
        "0.00",
        "2800.00",
        "500.00",
        "420.00",
        "3220.00",
    )
    assert output["year_to_date"] == {
        "deductible_used": "5000.00",
        "assistance_paid": "6300.00",
        "tilted_deductible_used": "7000.00",
    }


def test_example_c_cap_limits_assistance_of_a_destitute_person(tmp_path):
    state = {**ZERO_STATE, "assistance_paid": "78000.00"}
    identities = [{"category": "destitute", "start": "2020-01-01", "end": None}]
    output = assess(document([bill(basic_insurance_paid="23000.00")], identities, state), tmp_path)

    result = output["bills"][0]
    assert (result["category"], result["self_pay"]) == ("destitute", "5000.00")
    assert (result["assistance"], result["tilted_deductible_applied"]) == ("2000.00", "3000.00")
    assert result["tilted_assistance"] == "0.00"
    assert output["year_to_date"]["assistance_paid"] == "80000.00"


def test_example_d_chronic_outpatient_gets_no_tilted_assistance(tmp_path):
    identities = [{"category": "subsistence", "start": "2023-01-01", "end": None}]
    output = assess(document([outpatient("2023-05-01", id="D")], identities), tmp_path)

    assert figures(output["bills"][0]) == ("1000.00", "0.00", "750.00", "0.00", "0.00", "750.00")


def test_example_e_identity_ending_during_stay_does_not_cover_it(tmp_path):
    identities = [{"category": "near_subsistence", "start": "2022-01-01", "end": "2023-05-10"}]
    bills = [
        bill(id="stay", admitted="2023-05-08", discharged="2023-05-20"),
        outpatient("2023-05-25", id="may"),
        outpatient("2023-06-01", id="june"),
    ]
    output = assess(document(bills, identities), tmp_path)

    stay, may, june = output["bills"]
    assert (stay["covered"], stay["reason"], stay["category"]) == (False, "no_identity", None)
    assert figures(stay) == ("10000.00", "0.00", "0.00", "0.00", "0.00", "0.00")
    assert may["covered"] is True
    assert (june["covered"], june["reason"]) == (False, "no_identity")


def test_example_f_identity_gained_during_stay_covers_it(tmp_path):
    identities = [{"category": "near_subsistence", "start": "2023-03-15", "end": None}]
    stay = bill(id="F", admitted="2023-03-10", discharged="2023-03-20")
    output = assess(document([stay], identities), tmp_path)

    assert output["bills"][0]["covered"] is True
    assert output["bills"][0]["total"] == "3500.00"


# --- More of the contract -------------------------------------------------------------------


def test_uncovered_bill_has_zero_amounts_and_leaves_the_state(tmp_path):
    state = {"deductible_used": "100.00", "assistance_paid": "200", "tilted_deductible_used": "0"}
    output = assess(document([bill(designated=False)], year_to_date=state), tmp_path)

    result = output["bills"][0]
    assert (result["covered"], result["reason"], result["category"]) == (
        False,
        "not_designated",
        None,
    )
    assert figures(result) == ("10000.00", "0.00", "0.00", "0.00", "0.00", "0.00")
    assert output["year_to_date"] == {
        "deductible_used": "100.00",
        "assistance_paid": "200.00",
        "tilted_deductible_used": "0.00",
    }


def test_treatment_outside_the_area_without_referral_is_no_referral(tmp_path):
    output = assess(document([bill(in_coordination_area=False)]), tmp_path)
    assert output["bills"][0]["reason"] == "no_referral"


def test_category_missing_from_the_policy_gives_no_assistance(tmp_path):
    identities = [{"category": "other_special", "start": "2023-01-01", "end": None}]
    output = assess(document([BILL_A], identities), tmp_path)

    result = output["bills"][0]
    assert (result["covered"], result["reason"], result["total"]) == (False, "no_identity", "0.00")


def test_bills_crossing_into_a_new_year_restart_the_state(tmp_path):
    state = {"deductible_used": "5000", "assistance_paid": "80000", "tilted_deductible_used": "0"}
    bills = [BILL_A, bill(id="2024", admitted="2024-01-02", discharged="2024-01-09")]
    output = assess(document(bills, year_to_date=state), tmp_path)

    assert output["bills"][0]["assistance"] == "0.00"  # 2023: cap reached
    assert output["bills"][1]["assistance"] == "3500.00"  # 2024: from zero
    assert output["year_to_date"]["assistance_paid"] == "3500.00"


def test_json_numbers_are_read_as_decimals(tmp_path):
    text = json.dumps(document([BILL_A])).replace('"30000.00"', "30000.10")
    path = tmp_path / "input.json"
    path.write_text(text, encoding="utf-8")
    stdout = StringIO()
    call_command("assess", str(path), stdout=stdout)
    assert json.loads(stdout.getvalue())["bills"][0]["self_pay"] == "10000.10"


def test_stdin_is_read_with_a_dash(monkeypatch):
    monkeypatch.setattr(sys, "stdin", StringIO(json.dumps(document([BILL_A]))))
    stdout = StringIO()
    call_command("assess", "-", stdout=stdout)
    assert json.loads(stdout.getvalue())["bills"][0]["total"] == "3500.00"


@time_machine.travel(datetime(2024, 6, 30, 20, 0, tzinfo=UTC), tick=False)
def test_today_is_the_date_in_wuhai(tmp_path):
    # 20:00 UTC on 30 June is already 1 July in Asia/Shanghai.
    output = assess(document([outpatient("2024-07-01")]), tmp_path)
    assert output["bills"][0]["covered"] is True


# --- Invalid input: status 2, a message naming the bill and the field, nothing on stdout -----


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"total_cost": "-1.00"}, "total_cost"),
        ({"critical_illness_paid": "-0.01"}, "critical_illness_paid"),
        ({"total_cost": "29999.99"}, "policy_range_cost"),
        ({"basic_insurance_paid": "28000.01"}, "basic_insurance_paid"),
        ({"admitted": "2023-03-11"}, "admitted"),
        ({"discharged": "2999-01-01"}, "discharged"),
        ({"visit_type": "dental"}, "visit_type"),
        ({"discharged": None}, "discharged"),
        ({"total_cost": "abc"}, "total_cost"),
        ({"total_cost": "NaN"}, "total_cost"),
        ({"policy_range_cost": "1.001"}, "policy_range_cost"),
        ({"admitted": "2023-02-30"}, "admitted"),
        ({"admitted": "2023-W09-3"}, "admitted"),
        ({"discharged": "2023-03-1０"}, "discharged"),
        ({"designated": "yes"}, "designated"),
    ],
)
def test_invalid_bill_is_refused_naming_the_bill_and_the_field(fields, named, tmp_path):
    message = refuse(document([bill(id="X-17", **fields)]), tmp_path)
    assert "X-17" in message
    assert named in message


def test_bill_missing_a_field_is_refused(tmp_path):
    incomplete = bill(id="X-17")
    del incomplete["policy_range_cost"]
    message = refuse(document([incomplete]), tmp_path)
    assert "X-17" in message and "policy_range_cost" in message


def test_outpatient_without_a_service_date_is_refused(tmp_path):
    message = refuse(document([outpatient(None, id="X-17")]), tmp_path)
    assert "X-17" in message and "service_date" in message


def test_one_invalid_bill_refuses_the_whole_input(tmp_path):
    message = refuse(document([BILL_A, bill(id="bad", total_cost="-5")]), tmp_path)
    assert "bad" in message


def test_bad_json_is_refused(tmp_path):
    message = refuse('{"policy": ', tmp_path)
    assert "JSON" in message


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d["policy"]["categories"]["subsistence"].update(ratio="1.5"), "ratio"),
        (lambda d: d["policy"].pop("annual_cap"), "annual_cap"),
        (lambda d: d["policy"]["categories"].update(unknown={}), "unknown"),
        (lambda d: d["identities"][0].update(start="2023-13-01"), "start"),
        (lambda d: d["year_to_date"].update(deductible_used="x"), "deductible_used"),
        (lambda d: d.pop("bills"), "bills"),
    ],
)
def test_invalid_policy_identity_or_state_is_refused(change, named, tmp_path):
    data = copy.deepcopy(document([BILL_A]))
    change(data)
    assert named in refuse(data, tmp_path)


# --- Through manage.py, as a user runs it ---------------------------------------------------


def manage_py(*args, stdin):
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "test-only-secret-key")}
    return subprocess.run(
        [sys.executable, "manage.py", "assess", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
    )


def test_manage_py_assess_reads_stdin_and_prints_json():
    run = manage_py("-", stdin=json.dumps(document([BILL_A])))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["bills"][0]["assistance"] == "3500.00"


def test_manage_py_assess_exits_2_with_the_message_on_stderr_only():
    run = manage_py("-", stdin=json.dumps(document([bill(id="X-17", admitted="2023-03-11")])))
    assert run.returncode == 2
    assert run.stdout == ""
    assert "X-17" in run.stderr and "admitted" in run.stderr
