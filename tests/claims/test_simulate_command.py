"""Policy simulation (测算): the `simulate` command and its service (DOMAIN §12).

The seeded Wuhai 2023 policy is in force (near_subsistence deductible 5,000 / 70%; tilted
7,000 / 60%; cap 80,000). Settlements and manual bills are re-run by the engine under it and
under a draft, never taking maf_pay.
"""

import copy
import json
import sys
from datetime import UTC, date, datetime, time
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from claims_helpers import (
    approved_application,
    example_a,
    example_b,
    inpatient,
    settlement,
)
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from factories import IdentityFactory, PersonFactory

from claims import engine, simulation, simulation_records
from claims.management.commands.assess import _policy
from claims.tasks import simulation_task
from core.choices import Category
from core.models import Region
from monitoring.models import Settlement

D = Decimal
pytestmark = pytest.mark.django_db

# The policy in force (core migration 0003) in the `assess` policy shape.
IN_FORCE = {
    "annual_cap": "80000.00",
    "categories": {
        "destitute": {"deductible": "0", "ratio": "1.00"},
        "subsistence": {"deductible": "0", "ratio": "0.75"},
        "poverty_risk": {"deductible": "0", "ratio": "0.70"},
        "near_subsistence": {"deductible": "5000.00", "ratio": "0.70"},
        "illness_impoverished": {"deductible": "12500.00", "ratio": "0.70"},
        "other_special": {"deductible": "12500.00", "ratio": "0.70"},
    },
    "rank": list(engine.CATEGORIES),
    "tilted": {"deductible": "7000.00", "ratio": "0.60"},
}
KEYS = ["area", "year", "persons", "bills", "in_force", "draft", "difference", "by_category"]
SIDE_KEYS = ["assistance", "tilted", "total", "persons_assisted", "persons_at_cap"]


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(datetime(2024, 3, 1, 4, 0, tzinfo=UTC), tick=False):
        yield


def draft(**changes):
    """A copy of the policy in force; `changes` are dotted paths → values."""
    policy = copy.deepcopy(IN_FORCE)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = policy
        for name in parents:
            target = target[name]
        if value is None and last in target and isinstance(target[last], dict):
            del target[last]
        else:
            target[last] = value
    return policy


def simulate(tmp_path, policy, *, area="150300", year=2023):
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(policy), encoding="utf-8")
    stdout = StringIO()
    call_command(
        "simulate", "--area", area, "--year", str(year), "--policy", str(path), stdout=stdout
    )
    return json.loads(stdout.getvalue())


def refuse(tmp_path, policy, **kwargs) -> str:
    with pytest.raises(CommandError) as error:
        simulate(tmp_path, policy, **kwargs)
    assert error.value.returncode == 2
    return str(error.value)


def at(day: date, hour: int = 0):
    return timezone.make_aware(datetime.combine(day, time(hour)))


# --- The worked examples --------------------------------------------------------------------


def test_examples_a_and_b_under_an_unchanged_draft_cost_the_same(
    tmp_path, near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital), example_b(city_hospital)],
    )
    out = simulate(tmp_path, draft())
    side = {
        "assistance": "6300.00",
        "tilted": "420.00",
        "total": "6720.00",
        "persons_assisted": 1,
        "persons_at_cap": 0,
    }
    assert out == {
        "area": "150300",
        "year": 2023,
        "persons": 1,
        "bills": 2,
        "in_force": side,
        "draft": side,
        "difference": "0.00",
        "by_category": {"near_subsistence": {"in_force": "6720.00", "draft": "6720.00"}},
    }
    assert list(out) == KEYS
    assert list(out["in_force"]) == SIDE_KEYS and list(out["draft"]) == SIDE_KEYS


def test_a_higher_ratio_costs_more(
    tmp_path, near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital), example_b(city_hospital)],
    )
    out = simulate(tmp_path, draft(categories__near_subsistence__ratio="0.80"))
    # A: 5,000 × 80% = 4,000, burden 6,000 absorbed by the tilted deductible; B: 3,200, burden
    # 800 within the 1,000 of tilted deductible left → 0.
    assert out["draft"]["assistance"] == "7200.00"
    assert out["draft"]["tilted"] == "0.00"
    assert out["draft"]["total"] == "7200.00"
    assert out["in_force"]["total"] == "6720.00"
    assert out["difference"] == "480.00"


def test_settlements_are_computed_by_the_engine_not_taken_from_maf_pay(
    tmp_path, destitute_person, city_hospital
):
    # Example C at the counter: 78,000 then 5,000 of self-pay; the counter paid nothing.
    settlement(
        destitute_person, "S-1", enddate=date(2023, 2, 1), policy="100000", basic="22000",
        critical="0", maf_pay="0",
    )  # fmt: skip
    settlement(
        destitute_person, "S-2", enddate=date(2023, 4, 9), policy="15000", basic="9000",
        critical="1000", maf_pay="123.45",
    )  # fmt: skip
    out = simulate(tmp_path, draft())
    assert out["in_force"] == {
        "assistance": "80000.00",
        "tilted": "0.00",
        "total": "80000.00",
        "persons_assisted": 1,
        "persons_at_cap": 1,
    }
    assert out["bills"] == 2


def test_a_higher_cap_takes_the_person_off_the_cap(tmp_path, destitute_person, city_hospital):
    settlement(
        destitute_person, "S-1", enddate=date(2023, 2, 1), policy="100000", basic="22000",
        critical="0", maf_pay="0",
    )  # fmt: skip
    settlement(
        destitute_person, "S-2", enddate=date(2023, 4, 9), policy="15000", basic="9000",
        critical="1000", maf_pay="0",
    )  # fmt: skip
    out = simulate(tmp_path, draft(annual_cap="100000.00"))
    assert out["in_force"]["persons_at_cap"] == 1
    assert out["draft"]["persons_at_cap"] == 0
    assert out["draft"]["assistance"] == "83000.00"
    assert out["difference"] == "3000.00"


def test_a_settlement_outside_the_area_counts_as_referred_and_gets_no_tilted_pass(
    tmp_path, near_subsistence_person, institutions
):
    # 北京协和医院: outside the coordination area and Inner Mongolia; at the counter it was
    # settled, so it was referred (registered), and designated.
    settlement(
        near_subsistence_person, "S-BJ", enddate=date(2023, 3, 10), policy="30000",
        basic="18000", critical="2000", maf_pay="0", code="H11010200001",
    )  # fmt: skip
    out = simulate(tmp_path, draft())
    assert out["in_force"]["assistance"] == "3500.00"
    assert out["in_force"]["tilted"] == "0.00"


# --- Netting and order ----------------------------------------------------------------------


def test_a_fully_reversed_settlement_is_dropped_and_a_partial_reversal_nets(
    tmp_path, near_subsistence_person, city_hospital
):
    person = near_subsistence_person
    settlement(
        person, "S-1", enddate=date(2023, 3, 10), policy="30000", basic="18000",
        critical="2000", maf_pay="3500",
    )  # fmt: skip
    settlement(
        person, "R-1", enddate=date(2023, 3, 12), policy="-10000", basic="-5000",
        critical="-1000", maf_pay="0", reversal_of="S-1",
    )  # fmt: skip
    settlement(
        person, "S-2", enddate=date(2023, 6, 1), policy="8000", basic="4000",
        critical="0", maf_pay="0",
    )  # fmt: skip
    settlement(
        person, "R-2", enddate=date(2023, 6, 2), policy="-8000", basic="-4000",
        critical="0", maf_pay="0", reversal_of="S-2",
    )  # fmt: skip
    out = simulate(tmp_path, draft())
    # S-1 netted: 20,000 − 13,000 − 1,000 = 6,000 → deductible 5,000, 1,000 × 70% = 700.
    assert out["bills"] == 1
    assert out["persons"] == 1
    assert out["in_force"]["assistance"] == "700.00"
    assert out["in_force"]["total"] == "700.00"


def test_a_person_whose_only_settlement_is_fully_reversed_is_not_counted(
    tmp_path, near_subsistence_person, city_hospital
):
    person = near_subsistence_person
    settlement(
        person, "S-1", enddate=date(2023, 6, 1), policy="8000", basic="4000",
        critical="0", maf_pay="0",
    )  # fmt: skip
    settlement(
        person, "R-1", enddate=date(2023, 6, 2), policy="-8000", basic="-4000",
        critical="0", maf_pay="0", reversal_of="S-1",
    )  # fmt: skip
    out = simulate(tmp_path, draft())
    assert (out["persons"], out["bills"]) == (0, 0)
    assert out["by_category"] == {}


def test_a_settlement_comes_before_a_manual_bill_of_the_same_day(
    tmp_path, destitute_person, city_hospital, caseworker_haibowan, supervisor_city
):
    day = date(2023, 5, 8)
    # An outpatient visit settled at the counter and an inpatient bill brought in by hand,
    # both ending the same day. Under a draft cap of 1,000 whichever comes first takes the cap;
    # only the inpatient bill earns tilted assistance on what the cap leaves to the person.
    settlement(
        destitute_person, "S-OUT", enddate=day, policy="1000", basic="0", critical="0",
        maf_pay="0", visit="general_outpatient",
    )  # fmt: skip
    approved_application(
        destitute_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[
            inpatient(
                city_hospital, "INV-1", admitted=date(2023, 5, 1), discharged=day,
                policy="1000", basic="0", critical="0",
            )
        ],
    )  # fmt: skip
    out = simulate(tmp_path, draft(annual_cap="1000.00", tilted__deductible="0"))
    # Settlement first: it takes the 1,000; the bill's 1,000 burden → 600 tilted.
    # (The other order would give 1,000 to the bill and nothing to anyone else: 1,000.)
    assert out["draft"]["assistance"] == "1000.00"
    assert out["draft"]["tilted"] == "600.00"
    assert out["draft"]["total"] == "1600.00"
    assert out["draft"]["persons_at_cap"] == 1


def test_settlements_of_the_same_day_go_by_settlement_time_before_id(
    tmp_path, destitute_person, city_hospital
):
    day = date(2023, 5, 8)
    settlement(
        destitute_person, "S-A", enddate=day, policy="1000", basic="0", critical="0",
        maf_pay="0", visit="general_outpatient",
    )  # fmt: skip
    settlement(
        destitute_person, "S-B", enddate=day, policy="1000", basic="0", critical="0",
        maf_pay="0",
    )  # fmt: skip
    Settlement.objects.filter(setl_id="S-A").update(setl_time=at(day, 10))
    Settlement.objects.filter(setl_id="S-B").update(setl_time=at(day, 8))
    out = simulate(tmp_path, draft(annual_cap="1000.00", tilted__deductible="0"))
    # S-B (inpatient, 08:00) first takes the cap; S-A gets nothing and has no tilted pass.
    assert out["draft"]["total"] == "1000.00"


def test_a_settlement_carried_by_a_manual_bill_is_counted_once_as_the_bill(
    tmp_path, near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    settlement(
        near_subsistence_person, "S-A", enddate=date(2023, 3, 10), policy="30000",
        basic="18000", critical="2000", maf_pay="0",
    )  # fmt: skip
    approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital) | {"setl_id": "S-A"}],
    )
    out = simulate(tmp_path, draft())
    assert out["bills"] == 1
    assert out["in_force"]["total"] == "3500.00"


# --- Categories -----------------------------------------------------------------------------


def test_by_category_leaves_out_categories_without_bills_and_keeps_the_enum_order(
    tmp_path, near_subsistence_person, destitute_person, city_hospital
):
    settlement(
        near_subsistence_person, "S-N", enddate=date(2023, 3, 10), policy="30000",
        basic="18000", critical="2000", maf_pay="0",
    )  # fmt: skip
    settlement(
        destitute_person, "S-D", enddate=date(2023, 3, 10), policy="1000", basic="0",
        critical="0", maf_pay="0", visit="general_outpatient",
    )  # fmt: skip
    out = simulate(tmp_path, draft())
    assert list(out["by_category"]) == ["destitute", "near_subsistence"]
    assert out["by_category"]["destitute"] == {"in_force": "1000.00", "draft": "1000.00"}


def test_a_category_the_draft_drops_shows_zero_on_the_draft_side(
    tmp_path, near_subsistence_person, city_hospital
):
    settlement(
        near_subsistence_person, "S-N", enddate=date(2023, 3, 10), policy="30000",
        basic="18000", critical="2000", maf_pay="0",
    )  # fmt: skip
    out = simulate(tmp_path, draft(categories__near_subsistence=None))
    assert out["by_category"] == {"near_subsistence": {"in_force": "3500.00", "draft": "0.00"}}
    assert out["draft"]["persons_assisted"] == 0
    assert out["difference"] == "-3500.00"


def test_the_highest_covering_category_with_a_rule_is_the_one_summed(
    tmp_path, near_subsistence_person, city_hospital
):
    IdentityFactory(
        person=near_subsistence_person, category=Category.SUBSISTENCE, start=date(2023, 1, 1)
    )
    settlement(
        near_subsistence_person, "S-N", enddate=date(2023, 3, 10), policy="30000",
        basic="18000", critical="2000", maf_pay="0",
    )  # fmt: skip
    out = simulate(tmp_path, draft(categories__subsistence=None))
    assert list(out["by_category"]) == ["subsistence", "near_subsistence"]
    assert out["by_category"]["subsistence"]["draft"] == "0.00"
    assert out["by_category"]["near_subsistence"] == {"in_force": "0.00", "draft": "3500.00"}


# --- Whose records --------------------------------------------------------------------------


@pytest.fixture
def baotou_policy(db):
    """包头市 gets a copy of the Wuhai policy, so it can be simulated too."""
    from core.models import Policy

    wuhai = Policy.objects.get(area_id="150300")
    categories = list(wuhai.categories.all())
    wuhai.pk = None
    wuhai.area_id = "150200"
    wuhai.save()
    for category in categories:
        category.pk = None
        category.policy = wuhai
        category.save()
    return wuhai


def test_the_area_limits_persons_to_its_subtree(tmp_path, wuda_person, institutions, baotou_policy):
    baotou = PersonFactory(region=Region.objects.get(code="150200"))
    IdentityFactory(person=baotou, category=Category.SUBSISTENCE, start=date(2022, 1, 1))
    for person, setl_id in ((wuda_person, "S-W"), (baotou, "S-BT")):
        settlement(
            person, setl_id, enddate=date(2023, 3, 1), policy="1000", basic="0",
            critical="0", maf_pay="0", visit="general_outpatient",
        )  # fmt: skip
    # A registered region wins over the settlement's insu_admdvs.
    Settlement.objects.filter(setl_id="S-BT").update(insu_admdvs_id="150302")
    out = simulate(tmp_path, draft())
    assert (out["persons"], out["bills"]) == (1, 1)
    assert out["in_force"]["total"] == "750.00"
    baotou_out = simulate(tmp_path, draft(), area="150200")
    assert (baotou_out["persons"], baotou_out["in_force"]["total"]) == (1, "750.00")


def test_a_person_known_only_from_settlements_belongs_to_their_insu_admdvs(
    tmp_path, wuda_person, city_hospital, baotou_policy
):
    row = settlement(
        wuda_person, "S-X", enddate=date(2023, 3, 1), policy="1000", basic="0",
        critical="0", maf_pay="0", visit="general_outpatient",
    )  # fmt: skip
    Settlement.objects.filter(pk=row.pk).update(certno="150304199001011234")
    out = simulate(tmp_path, draft())
    # Counted (a person of the area with a bill), but no identity: nothing to pay.
    assert (out["persons"], out["bills"]) == (1, 1)
    assert out["in_force"]["total"] == "0.00"
    assert out["in_force"]["persons_assisted"] == 0
    assert simulate(tmp_path, draft(), area="150200")["persons"] == 0


def test_other_years_are_left_out(tmp_path, destitute_person, city_hospital):
    settlement(
        destitute_person, "S-22", enddate=date(2022, 12, 31), policy="1000", basic="0",
        critical="0", maf_pay="0",
    )  # fmt: skip
    out = simulate(tmp_path, draft())
    assert (out["persons"], out["bills"], out["in_force"]["total"]) == (0, 0, "0.00")


# --- The engine, directly -------------------------------------------------------------------


def test_the_result_equals_the_engine_run_on_the_same_bills(
    tmp_path, near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    person = near_subsistence_person
    settlement(
        person, "S-1", enddate=date(2023, 2, 3), policy="9000", basic="3000", critical="500",
        maf_pay="0", visit="chronic_outpatient",
    )  # fmt: skip
    approved_application(
        person, caseworker_haibowan, supervisor_city, bills=[example_a(city_hospital)]
    )
    settlement(
        person, "S-2", enddate=date(2023, 7, 20), policy="40000", basic="24000",
        critical="3000", maf_pay="0",
    )  # fmt: skip
    common = {
        "designated": True, "in_coordination_area": True, "in_region": True, "referred": True,
    }  # fmt: skip
    bills = [
        engine.Bill(
            id="1", visit_type="chronic_outpatient", service_date=date(2023, 2, 3),
            total_cost=D("10000"), policy_range_cost=D("9000"), basic_insurance_paid=D("3000"),
            critical_illness_paid=D("500"), **common,
        ),
        engine.Bill(
            id="2", visit_type="inpatient", admitted=date(2023, 3, 1),
            discharged=date(2023, 3, 10), total_cost=D("32000"), policy_range_cost=D("30000"),
            basic_insurance_paid=D("18000"), critical_illness_paid=D("2000"), **common,
        ),
        engine.Bill(
            id="3", visit_type="inpatient", admitted=date(2023, 7, 20),
            discharged=date(2023, 7, 20), total_cost=D("41000"), policy_range_cost=D("40000"),
            basic_insurance_paid=D("24000"), critical_illness_paid=D("3000"), **common,
        ),
    ]  # fmt: skip
    identities = [engine.Identity("near_subsistence", date(2023, 1, 1))]
    out = simulate(tmp_path, draft(tilted__deductible="2000.00"))
    for side, policy in (("in_force", draft()), ("draft", draft(tilted__deductible="2000.00"))):
        results, _state = engine.assess_bills(
            _policy(policy), identities, engine.YearToDate.zero(), bills, date(2024, 3, 1)
        )
        assert out[side]["assistance"] == str(sum(r.assistance for r in results))
        assert out[side]["tilted"] == str(sum(r.tilted_assistance for r in results))
        assert out[side]["total"] == str(sum(r.total for r in results))
    assert D(out["difference"]) > 0


def test_chunks_merge_to_the_same_result(
    tmp_path, settings, near_subsistence_person, destitute_person, wuda_person, city_hospital
):
    for n, person in enumerate((near_subsistence_person, destitute_person, wuda_person)):
        settlement(
            person, f"S-{n}", enddate=date(2023, 3, 1 + n), policy="30000", basic="18000",
            critical="2000", maf_pay="0",
        )  # fmt: skip
    whole = simulate(tmp_path, draft(categories__subsistence__ratio="0.90"))
    settings.SIMULATION_RANGE_PERSONS = 1  # a range per person
    assert len(simulation.person_ranges(2023)) == 3
    assert simulate(tmp_path, draft(categories__subsistence__ratio="0.90")) == whole
    assert whole["persons"] == 3


def test_rows_read_one_at_a_time_give_the_same_result(
    tmp_path, monkeypatch, near_subsistence_person, destitute_person, city_hospital
):
    """A person's rows may straddle two fetches and two institution batches."""
    for n in range(3):
        for person in (near_subsistence_person, destitute_person):
            settlement(
                person, f"S-{person.pk}-{n}", enddate=date(2023, 3, 1 + n), policy="30000",
                basic="18000", critical="2000", maf_pay="0",
            )  # fmt: skip
    settlement(
        destitute_person, "R-1", enddate=date(2023, 3, 2), policy="-30000", basic="-18000",
        critical="-2000", maf_pay="0", reversal_of=f"S-{destitute_person.pk}-1",
    )  # fmt: skip
    whole = simulate(tmp_path, draft(categories__subsistence__ratio="0.90"))
    monkeypatch.setattr(simulation_records, "FETCH_ROWS", 1)
    monkeypatch.setattr(simulation_records, "BATCH_PERSONS", 1)
    assert simulate(tmp_path, draft(categories__subsistence__ratio="0.90")) == whole
    assert (whole["persons"], whole["bills"]) == (2, 5)


def test_a_chunk_reads_in_bulk_and_writes_nothing(tmp_path, city_hospital, haibowan):
    def make_person(n):
        person = PersonFactory(region=haibowan)
        IdentityFactory(person=person, category=Category.SUBSISTENCE, start=date(2022, 1, 1))
        settlement(
            person, f"S-{n}", enddate=date(2023, 3, 1), policy="1000", basic="0",
            critical="0", maf_pay="0", visit="general_outpatient",
        )  # fmt: skip

    policies = {"in_force": _policy(IN_FORCE), "draft": _policy(IN_FORCE)}
    counts = []
    for n in range(5):
        make_person(n)
        with CaptureQueriesContext(connection) as queries:
            partial = simulation.simulate_chunk(
                area_code="150300", year=2023, lo=None, hi=None, policies=policies,
                today=date(2024, 3, 1),
            )  # fmt: skip
        assert partial.persons == n + 1
        counts.append(len(queries))
        # Reads only (on PostgreSQL the settlements stream from a cursor: DECLARE/FETCH).
        writes = ("INSERT", "UPDATE", "DELETE")
        assert not [
            q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(writes)
        ]
    assert len(set(counts)) == 1  # no query per person


def test_the_task_returns_what_the_command_prints(tmp_path, destitute_person, city_hospital):
    settlement(
        destitute_person, "S-1", enddate=date(2023, 2, 1), policy="1000", basic="0",
        critical="0", maf_pay="0",
    )  # fmt: skip
    printed = simulate(tmp_path, draft())
    result = simulation_task.delay("150300", 2023, draft()).get()
    assert json.loads(json.dumps(result)) == printed


# --- Refusals (exit 2, nothing on stdout) ---------------------------------------------------


def test_an_unknown_area_exits_2(tmp_path):
    assert "999999" in refuse(tmp_path, draft(), area="999999")


def test_a_district_is_not_a_coordination_area(tmp_path):
    assert "150302" in refuse(tmp_path, draft(), area="150302")


def test_a_year_without_a_policy_in_force_exits_2(tmp_path):
    assert "2022" in refuse(tmp_path, draft(), year=2022)


@pytest.mark.parametrize(
    "policy, field",
    [
        (draft(categories__subsistence__ratio="1.5"), "categories.subsistence.ratio"),
        (draft(annual_cap="-1"), "annual_cap"),
        (draft(tilted__deductible="abc"), "tilted.deductible"),
        (draft(categories__unknown={"deductible": "0", "ratio": "0.5"}), "categories.unknown"),
        ({k: v for k, v in IN_FORCE.items() if k != "tilted"}, "tilted"),
        (["not", "an", "object"], "JSON"),
    ],
)
def test_an_invalid_policy_file_exits_2_naming_the_field(tmp_path, policy, field):
    assert field in refuse(tmp_path, policy)


def test_nothing_is_printed_on_refusal(tmp_path):
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(draft(annual_cap="x")), encoding="utf-8")
    stdout = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "simulate", "--area", "150300", "--year", "2023", "--policy", str(path), stdout=stdout
        )
    assert stdout.getvalue() == ""


def test_the_policy_is_read_from_stdin_with_a_dash(
    monkeypatch, near_subsistence_person, city_hospital
):
    settlement(
        near_subsistence_person, "S-N", enddate=date(2023, 3, 10), policy="30000",
        basic="18000", critical="2000", maf_pay="0",
    )  # fmt: skip
    monkeypatch.setattr(sys, "stdin", StringIO(json.dumps(draft())))
    stdout = StringIO()
    call_command("simulate", "--area", "150300", "--year", "2023", "--policy", "-", stdout=stdout)
    assert json.loads(stdout.getvalue())["in_force"]["total"] == "3500.00"


def test_an_invalid_policy_on_stdin_exits_2(monkeypatch):
    monkeypatch.setattr(sys, "stdin", StringIO("{not json"))
    with pytest.raises(CommandError) as error:
        call_command("simulate", "--area", "150300", "--year", "2023", "--policy", "-")
    assert error.value.returncode == 2
