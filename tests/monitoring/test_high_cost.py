"""High-cost scan (DOMAIN §7): watches, thresholds at the boundary, re-runs, dismissals,
incremental scans and policy changes. Wuhai 2023 policy: R = 22,000 → lines 22,000.00 and
11,000.00."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from factories import IdentityFactory, PersonFactory
from monitoring_helpers import certno, srow

from core.choices import Category
from core.models import AuditEvent, Policy, Region
from monitoring.checks import check_run
from monitoring.models import Alert
from monitoring.services import alert_transition

pytestmark = pytest.mark.django_db


def person(n, region="150302", **kwargs):
    return PersonFactory(
        id_number=certno(n, region), region=Region.objects.get(code=region), **kwargs
    )


def scan(period="2023", **kwargs):
    run = check_run(name="high_cost", period=period, **kwargs)
    assert run.outcome == "success", run.error
    return run


def counts(run):
    return (run.alerts_created, run.alerts_updated, run.alerts_closed)


def test_a_burden_equal_to_the_impoverishment_line_does_not_alert(import_rows):
    p = person(1)
    import_rows([srow("S1", p.id_number, "22000.00")])
    scan()
    assert not Alert.objects.exists()


def test_a_burden_one_fen_above_the_impoverishment_line_alerts(import_rows):
    p = person(1)
    import_rows([srow("S1", p.id_number, "12000.00"), srow("S2", p.id_number, "10000.01")])
    run = scan()
    alert = Alert.objects.get()
    assert counts(run) == (1, 0, 0)
    assert (alert.watch, alert.burden, alert.threshold) == (
        "impoverishment",
        Decimal("22000.01"),
        Decimal("22000.00"),
    )
    assert (alert.person, alert.region_id, alert.status, alert.year) == (p, "150302", "open", 2023)
    assert alert.evidence["settlements"] == 2


@pytest.mark.parametrize("category", [Category.NEAR_SUBSISTENCE, Category.POVERTY_RISK])
def test_poverty_return_watch_alerts_strictly_above_half_the_rural_income(import_rows, category):
    at_line, above = person(1), person(2)
    for p in (at_line, above):
        IdentityFactory(person=p, category=category, start=date(2022, 1, 1))
    import_rows(
        [srow("S1", at_line.id_number, "11000.00"), srow("S2", above.id_number, "11000.01")]
    )
    scan()
    alert = Alert.objects.get()
    assert (alert.person, alert.watch, alert.threshold) == (
        above,
        "poverty_return",
        Decimal("11000.00"),
    )


def test_poverty_return_line_is_rounded_half_up(import_rows):
    Policy.objects.filter(area_id="150300").update(rural_income=Decimal("22000.01"))
    p = person(1)
    IdentityFactory(person=p, category=Category.NEAR_SUBSISTENCE, start=date(2022, 1, 1))
    import_rows([srow("S1", p.id_number, "11000.01")])  # line = 11000.005 → 11000.01
    scan()
    assert not Alert.objects.exists()


@pytest.mark.parametrize("category", [Category.DESTITUTE, Category.SUBSISTENCE])
def test_destitute_and_subsistence_holders_are_not_watched(import_rows, category):
    p = person(1)
    IdentityFactory(person=p, category=category, start=date(2022, 1, 1))
    IdentityFactory(person=p, category=Category.NEAR_SUBSISTENCE, start=date(2022, 1, 1))
    import_rows([srow("S1", p.id_number, "90000.00")])
    scan()
    assert not Alert.objects.exists()


def test_categories_are_those_held_on_the_reference_date_until_coverage_end(import_rows):
    # The identity ended 2023-12-05: coverage runs to 2023-12-31, the reference date of 2023.
    held, lapsed = person(1), person(2)
    IdentityFactory(person=held, category=Category.SUBSISTENCE, end=date(2023, 12, 5))
    IdentityFactory(person=lapsed, category=Category.SUBSISTENCE, end=date(2023, 11, 30))
    import_rows([srow("S1", held.id_number, "30000"), srow("S2", lapsed.id_number, "30000")])
    scan()
    assert list(Alert.objects.values_list("certno", flat=True)) == [lapsed.id_number]


def test_a_monthly_period_counts_rows_to_its_end_and_uses_that_reference_date(import_rows):
    p = person(1)
    IdentityFactory(person=p, category=Category.SUBSISTENCE, start=date(2023, 7, 1))
    import_rows(
        [
            srow("S1", p.id_number, "15000", enddate="2023-05-20"),
            srow("S2", p.id_number, "15000", enddate="2023-06-20"),
            srow("S3", p.id_number, "15000", enddate="2023-07-20"),
        ]
    )
    run = scan("2023-06")
    alert = Alert.objects.get()
    assert run.rows_scanned == 2
    assert (alert.burden, alert.period) == (Decimal("30000.00"), "2023-06")
    scan("2023")  # by the year's end the person holds subsistence: closed
    alert.refresh_from_db()
    assert alert.status == "closed"


def test_a_person_known_only_from_settlements_belongs_to_insu_admdvs(import_rows):
    number = certno(7, "150303")
    import_rows([srow("S1", number, "30000", insu_admdvs="150303", psn_name="只在结算")])
    scan()
    alert = Alert.objects.get()
    assert (alert.person, alert.region_id, alert.name) == (None, "150303", "只在结算")


def test_employee_insurance_enrollees_are_watched_too(import_rows):
    p = person(1)
    import_rows([srow("S1", p.id_number, "30000", insutype="310")])
    scan()
    assert Alert.objects.count() == 1


def test_rerunning_creates_no_duplicates_and_updates_nothing_unchanged(import_rows):
    p = person(1)
    import_rows([srow("S1", p.id_number, "30000")])
    scan()
    again = check_run(name="high_cost", period="2023", options={"full": True})
    assert counts(again) == (0, 0, 0)
    assert Alert.objects.count() == 1


def test_a_rerun_updates_the_burden_of_an_open_alert(import_rows):
    p = person(1)
    import_rows([srow("S1", p.id_number, "30000")])
    scan()
    first = Alert.objects.get()
    import_rows([srow("S2", p.id_number, "1000")])
    run = scan()
    assert counts(run) == (0, 1, 0)
    alert = Alert.objects.get()
    assert alert.burden == Decimal("31000.00")
    assert alert.last_run_id == run.pk and alert.updated_at > first.updated_at
    assert alert.evidence != first.evidence  # the settlements behind the new burden
    # The update is in the alert's history, as a change of the burden.
    assert [h.burden for h in alert.history.order_by("history_date")] == [
        Decimal("30000.00"),
        Decimal("31000.00"),
    ]
    assert alert.history.latest("history_date").history_type == "~"


def test_a_reversal_bringing_the_burden_to_the_line_closes_the_alert(import_rows):
    p = person(1)
    import_rows([srow("S1", p.id_number, "22000.00"), srow("S2", p.id_number, "5000")])
    scan()
    import_rows([srow("R2", p.id_number, "5000", reversal_of="S2")])
    run = scan()
    alert = Alert.objects.get()
    assert counts(run) == (0, 0, 1)
    assert (alert.status, alert.burden) == ("closed", Decimal("22000.00"))


def test_a_dismissed_alert_stays_dismissed_until_the_burden_grows(import_rows, supervisor_city):
    p = person(1)
    import_rows([srow("S1", p.id_number, "30000"), srow("S2", p.id_number, "2000")])
    scan()
    alert = alert_transition(
        alert=Alert.objects.get(), status="dismissed", reason="已核实", by=supervisor_city
    )
    assert alert.burden_at_close == Decimal("32000.00")
    import_rows([srow("R2", p.id_number, "2000", reversal_of="S2")])
    run = check_run(name="high_cost", period="2023", options={"full": True})
    assert counts(run) == (0, 0, 0)
    import_rows([srow("S3", p.id_number, "2000")])  # back to 32,000: not past it
    scan()
    assert Alert.objects.get().status == "dismissed"
    import_rows([srow("S4", p.id_number, "0.01")])
    run = scan()
    alert.refresh_from_db()
    assert counts(run) == (0, 1, 0)
    assert (alert.status, alert.burden) == ("open", Decimal("32000.01"))


def test_an_incremental_scan_reads_only_the_persons_new_rows_touch(import_rows):
    a, b = person(1), person(2)
    import_rows([srow(f"A{i}", a.id_number, "5000") for i in range(5)])
    import_rows([srow("B1", b.id_number, "30000")])
    first = scan()
    assert (first.mode, first.rows_scanned) == ("full", 6)
    import_rows([srow("B2", b.id_number, "100")])
    second = scan()
    assert (second.mode, second.rows_scanned) == ("incremental", 2)
    assert counts(second) == (0, 1, 0)
    third = scan()
    assert (third.mode, third.rows_scanned, counts(third)) == ("incremental", 0, (0, 0, 0))


def test_an_identity_granted_after_a_scan_is_seen_by_the_next_incremental_scan(import_rows):
    p = person(1)
    import_rows([srow("S1", p.id_number, "15000")])
    scan()
    assert Alert.objects.count() == 0
    IdentityFactory(person=p, category=Category.NEAR_SUBSISTENCE, start=date(2023, 1, 1))
    run = scan()
    assert run.mode == "incremental"
    assert Alert.objects.get().watch == "poverty_return"


def test_a_change_of_the_rural_income_triggers_a_full_rescan(import_rows):
    p = person(1)
    import_rows([srow("S1", p.id_number, "21000.00")])
    scan()
    assert not Alert.objects.exists()
    policy = Policy.objects.get(area_id="150300")
    policy.rural_income = Decimal("20000.00")
    policy.save()
    run = scan()
    assert run.mode == "full"
    assert Alert.objects.get().threshold == Decimal("20000.00")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.POLICY_RESCAN).count() == 1


def test_area_limits_the_scan_to_persons_of_that_subtree(import_rows):
    hbw, wuda = person(1, "150302"), person(2, "150304")
    import_rows([srow("S1", hbw.id_number, "30000"), srow("S2", wuda.id_number, "30000")])
    run = scan(area="150304")
    assert list(Alert.objects.values_list("region_id", flat=True)) == ["150304"]
    assert run.area == "150304"


def _manual_bill(p, user, *, status, total_cost, basic, assistance, setl_id="", n=1):
    from claims.models import Application, Bill, Institution

    institution, _ = Institution.objects.get_or_create(
        code="H15030200001", defaults={"name": "乌海市人民医院", "level": 3, "admdvs": "150302"}
    )
    application = Application.objects.create(
        person=p,
        area=Region.objects.get(code="150300"),
        received_on=date(2023, 9, 1),
        status=status,
        prepared_by=user,
    )
    return Bill.objects.create(
        application=application,
        institution=institution,
        visit_type="inpatient",
        admitted=date(2023, 8, 1),
        discharged=date(2023, 8, 10),
        year=2023,
        invoice_number=f"INV{n}",
        setl_id=setl_id,
        total_cost=Decimal(total_cost),
        policy_range_cost=Decimal(total_cost),
        basic_insurance_paid=Decimal(basic),
        critical_illness_paid=Decimal("0"),
        total=Decimal(assistance),
    )


def test_manual_bills_add_their_cost_less_the_assistance_approved(import_rows, caseworker_haibowan):
    p = person(1)
    import_rows([srow("S1", p.id_number, "20000.00")])
    # Cost after insurance 3,000.01, assistance approved 1,000.00: burden 22,000.01.
    _manual_bill(
        p,
        caseworker_haibowan,
        status="approved",
        total_cost="5000.01",
        basic="2000.00",
        assistance="1000.00",
    )
    run = scan()
    alert = Alert.objects.get()
    assert alert.burden == Decimal("22000.01")
    assert run.rows_scanned == 2 and alert.evidence["bills"] == 1


def test_a_person_with_manual_bills_only_alerts_and_their_bills_are_counted(
    import_rows, caseworker_haibowan
):
    p, other = person(1), person(2)
    import_rows([srow("S1", other.id_number, "100.00")])
    # No settlement at all: the bills alone (cost after insurance 25,000.00, submitted).
    _manual_bill(
        p, caseworker_haibowan, status="submitted", total_cost="30000", basic="5000", assistance="0"
    )
    run = scan(options={"full": True})
    alert = Alert.objects.get()
    assert (alert.certno, alert.burden) == (p.id_number, Decimal("25000.00"))
    assert (alert.evidence["settlements"], alert.evidence["bills"]) == (0, 1)
    assert run.rows_scanned == 2


def test_bills_push_a_person_under_the_lowest_line_over_it(import_rows, caseworker_haibowan):
    p = person(1)
    import_rows([srow("S1", p.id_number, "100.00")])  # far below any line alone
    _manual_bill(
        p, caseworker_haibowan, status="submitted", total_cost="22000", basic="0", assistance="0"
    )
    scan()
    assert Alert.objects.get().burden == Decimal("22100.00")


def test_a_month_period_reads_the_year_up_to_that_month_only(import_rows):
    p = person(1)
    import_rows(
        [
            srow("S1", p.id_number, "15000.00", enddate="2023-03-10"),
            srow("S2", p.id_number, "10000.00", enddate="2023-08-10"),
        ]
    )
    june = scan(period="2023-06")
    assert not Alert.objects.exists() and june.rows_scanned == 1
    year = scan(period="2023")
    assert Alert.objects.get().burden == Decimal("25000.00") and year.rows_scanned == 2


def test_a_manual_bill_of_an_imported_settlement_counts_only_its_assistance(
    import_rows, caseworker_haibowan
):
    p = person(1)
    import_rows([srow("S1", p.id_number, "23000.00")])
    _manual_bill(
        p,
        caseworker_haibowan,
        status="paid",
        total_cost="23600.00",
        basic="600.00",
        assistance="1000.00",
        setl_id="S1",
    )
    scan()
    assert not Alert.objects.exists()  # 23,000 − 1,000 = 22,000: on the line


def test_draft_and_rejected_applications_do_not_count(import_rows, caseworker_haibowan):
    p = person(1)
    import_rows([srow("S1", p.id_number, "21000.00")])
    _manual_bill(
        p, caseworker_haibowan, status="draft", total_cost="5000", basic="0", assistance="0"
    )
    scan()
    assert not Alert.objects.exists()


def test_an_area_run_counts_the_rows_of_the_areas_persons(import_rows):
    moved = person(1, region="150303")  # registered in Wuda, treated in Haibowan
    import_rows(
        [
            srow("S1", moved.id_number, "100", insu_admdvs="150302"),
            srow("S2", moved.id_number, "100", insu_admdvs="150302"),
            srow("S3", certno(2, "150304"), "100", insu_admdvs="150304"),
            srow("S4", certno(3), "100", insu_admdvs="150302"),
        ]
    )
    assert scan(area="150303").rows_scanned == 2
    assert scan(area="150304").rows_scanned == 1
    assert scan(area="150302").rows_scanned == 1
    assert scan(area="150300").rows_scanned == 4
    import_rows([srow("S5", certno(3), "100", insu_admdvs="150302")])
    incremental = scan(area="150302")
    assert (incremental.mode, incremental.rows_scanned) == ("incremental", 2)
    assert scan(area="150303").rows_scanned == 0  # nobody of Wuda was touched since


def test_the_alert_page_lists_the_manual_bills_behind_the_burden(
    import_rows, caseworker_haibowan, client
):
    p = person(1)
    import_rows([srow("S1", p.id_number, "20000.00")])
    bill = _manual_bill(
        p,
        caseworker_haibowan,
        status="approved",
        total_cost="5000.01",
        basic="2000.00",
        assistance="1000.00",
    )
    scan()
    alert = Alert.objects.get()
    client.force_login(caseworker_haibowan)
    response = client.get(reverse("monitoring:alert_detail", args=[alert.pk]))
    [listed] = response.context["manual_bills"]
    assert listed == bill and listed.burden == Decimal("2000.01")
    html = response.content.decode()
    assert "data-manual-bills" in html and "INV1" in html and "2,000.01" in html
