"""Department rosters (DOMAIN §9.1): reading, planning, applying, and the command contract."""

import io
import json
from datetime import date, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook
from roster_helpers import HEADER, csv_bytes

from beneficiaries.models import Identity, Person, RosterBatch, RosterLine
from beneficiaries.roster import RosterFileError, read_roster, roster_preview
from beneficiaries.roster_services import roster_import
from beneficiaries.services import identity_grant
from core import idnumber
from core.choices import Category, Department
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2023, 7, 1)


def number(seq: int, born=date(1970, 1, 1)) -> str:
    return idnumber.make("150302", born, seq)


def row(
    name, id_number, category="低保对象", start="2023-01-01", end="", region="150302", phone=""
):
    return [name, id_number, category, start, end, region, phone]


def preview(data, *, name="roster.csv", department="civil_affairs", region=None, as_of=AS_OF):
    from core.models import Region

    region = region or Region.objects.get(code="150302")
    return roster_preview(name=name, data=data, department=department, region=region, as_of=as_of)


def run(data, *, region=None, dry_run=False, department="civil_affairs", as_of=AS_OF):
    from core.models import Region

    region = region or Region.objects.get(code="150302")
    return roster_import(
        name="roster.csv",
        data=data,
        department=department,
        region=region,
        as_of=as_of,
        dry_run=dry_run,
        by=None,
    )


def grant(
    person, category=Category.SUBSISTENCE, start=date(2023, 1, 1), end=None, by=None, **extra
):
    extra.setdefault("department", Department.CIVIL_AFFAIRS)
    return identity_grant(
        person=person, category=category, start=start, end=end, region=person.region, by=by, **extra
    )


# --- Reading --------------------------------------------------------------------------------


def test_csv_with_and_without_bom_and_gb18030_read_the_same(db):
    rows = [row("王建国", number(1))]
    for encoding in ["utf-8-sig", "utf-8", "gb18030"]:
        roster = read_roster("x.csv", csv_bytes(rows, encoding=encoding))
        assert roster.rows[0][1]["name"] == "王建国", encoding
        assert roster.headers["name"] == "姓名"


def test_english_headers_are_accepted(db):
    header = ["name", "id_number", "category", "start", "end", "region_code", "phone"]
    plan = preview(csv_bytes([row("王建国", number(1), "subsistence")], header=header))
    assert plan.counts["new"] == 1 and not plan.errors


def test_missing_required_column_makes_the_file_unusable(db):
    with pytest.raises(RosterFileError, match="行政区划代码"):
        read_roster(
            "x.csv",
            csv_bytes(
                [["王建国", number(1)]], header=["姓名", "公民身份号码", "救助对象类别", "认定日期"]
            ),
        )


def test_blank_rows_are_skipped_but_row_numbers_stay_spreadsheet_numbers(db):
    data = csv_bytes([row("王建国", number(1)), ["", "", "", "", "", "", ""], row("李四", "123")])
    plan = preview(data)
    assert plan.rows == 2
    assert plan.errors == [{"row": 4, "field": "公民身份号码", "message": "身份证号码应为18位"}]


def test_xlsx_with_real_date_cells_is_read(db):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(
        ["王建国", number(1), "特困人员", datetime(2023, 3, 15), None, 150302, 13904730001]
    )
    sheet.append(["李四", number(2), "低保对象", "2023/02/01", "20230630", "150302", None])
    out = io.BytesIO()
    workbook.save(out)
    plan = preview(out.getvalue(), name="roster.xlsx")
    assert not plan.errors
    first, second = plan.planned
    assert (first.start, first.region_code, first.phone) == (
        date(2023, 3, 15),
        "150302",
        "13904730001",
    )
    assert (second.start, second.end) == (date(2023, 2, 1), date(2023, 6, 30))


# --- Row errors -----------------------------------------------------------------------------


def test_bad_check_digit_is_a_row_error_naming_the_column(db):
    bad = number(1)[:17] + ("0" if number(1)[17] != "0" else "1")
    plan = preview(csv_bytes([row("王建国", number(2)), row("李四", bad)]))
    assert plan.errors == [{"row": 3, "field": "公民身份号码", "message": "校验码错误"}]


def test_field_is_the_header_as_written_in_the_file(db):
    header = ["name", "ID_Number", "category", "start", "end", "region_code", "phone"]
    plan = preview(csv_bytes([row("李四", "15030219700101001")], header=header))
    assert plan.errors[0]["field"] == "ID_Number"


def test_unknown_category_is_a_row_error(db):
    plan = preview(csv_bytes([row("王建国", number(1), category="五保户")]))
    assert [(e["row"], e["field"]) for e in plan.errors] == [(2, "救助对象类别")]


@pytest.mark.parametrize("value", ["2023-13-01", "01/02/2023", "2023年1月1日", "x"])
def test_bad_start_date_is_a_row_error(db, value):
    plan = preview(csv_bytes([row("王建国", number(1), start=value)]))
    assert [(e["row"], e["field"]) for e in plan.errors] == [(2, "认定日期")]


def test_end_before_start_is_a_row_error(db):
    plan = preview(csv_bytes([row("王建国", number(1), start="2023-05-01", end="2023-04-30")]))
    assert [(e["row"], e["field"]) for e in plan.errors] == [(2, "终止日期")]


def test_missing_required_value_is_a_row_error(db):
    plan = preview(csv_bytes([row("", number(1), start="")]))
    assert [(e["row"], e["field"]) for e in plan.errors] == [(2, "姓名"), (2, "认定日期")]


def test_region_outside_the_roster_region_is_a_row_error(db):
    plan = preview(csv_bytes([row("王建国", number(1), region="150304")]))
    assert [(e["row"], e["field"]) for e in plan.errors] == [(2, "行政区划代码")]


def test_unknown_region_code_is_a_row_error(db):
    plan = preview(csv_bytes([row("王建国", number(1), region="150399")]))
    assert [(e["row"], e["field"]) for e in plan.errors] == [(2, "行政区划代码")]


def test_same_id_and_category_twice_makes_both_rows_errors(db):
    data = csv_bytes(
        [row("王建国", number(1)), row("李四", number(2)), row("王建国", number(1).lower())]
    )
    plan = preview(data)
    assert [(e["row"], e["field"]) for e in plan.errors] == [
        (2, "公民身份号码"),
        (4, "公民身份号码"),
    ]
    assert plan.counts["new"] == 1


def test_overlap_with_another_departments_identity_is_a_row_error(haibowan):
    person = PersonFactory(region=haibowan, id_number=number(1))
    grant(person, Category.POVERTY_RISK, department=Department.RURAL_REVITALIZATION)
    plan = preview(csv_bytes([row(person.name, person.id_number, "易返贫致贫人口", "2023-03-01")]))
    assert [(e["row"], e["field"]) for e in plan.errors] == [(2, "认定日期")]
    assert "乡村振兴" in plan.errors[0]["message"]


# --- Matching -------------------------------------------------------------------------------


@pytest.fixture
def roster_people(haibowan):
    """Three persons with civil-affairs identities in 海勃湾区."""
    people = [PersonFactory(region=haibowan, id_number=number(i), name=f"人{i}") for i in range(3)]
    for person in people:
        grant(person, start=date(2023, 1, 1))
    return people


def test_preview_counts_new_changed_unchanged_and_terminated(roster_people):
    a, b, _c = roster_people
    data = csv_bytes(
        [
            row(a.name, a.id_number, start="2023-01-01"),  # unchanged
            row(b.name, b.id_number, start="2023-01-01", end="2023-06-15"),  # changed
            row("新人", number(9), start="2023-06-01"),  # new person and identity
        ]
    )
    plan = preview(data)
    assert plan.summary(applied=False) == {
        "rows": 3,
        "new": 1,
        "changed": 1,
        "terminated": 1,
        "unchanged": 1,
        "errors": [],
        "applied": False,
    }
    assert Person.objects.count() == 3  # a preview writes nothing


def test_apply_writes_everything_and_records_the_batch(roster_people):
    a, b, c = roster_people
    data = csv_bytes(
        [
            row(a.name, a.id_number, start="2023-01-01"),
            row(b.name, b.id_number, start="2023-01-01", end="2023-06-15"),
            row("新人", number(9), start="2023-06-01", phone="13900000000"),
        ]
    )
    result = run(data)
    assert result["applied"] is True
    assert Identity.objects.get(person=b).end == date(2023, 6, 15)
    # Terminated: the day before as-of.
    assert Identity.objects.get(person=c).end == date(2023, 6, 30)
    newcomer = Person.objects.get(id_number=number(9))
    assert (newcomer.name, newcomer.region_id, newcomer.phone) == ("新人", "150302", "13900000000")
    assert newcomer.identities.get().department == Department.CIVIL_AFFAIRS
    batch = RosterBatch.objects.get()
    assert batch.status == RosterBatch.Status.APPLIED
    assert (batch.new, batch.changed, batch.terminated, batch.unchanged) == (1, 1, 1, 1)
    effects = sorted(batch.lines.values_list("effect", flat=True))
    assert effects == ["changed", "new", "terminated", "unchanged"]
    assert batch.lines.get(effect=RosterLine.Effect.CHANGED).before["end"] is None
    assert set(Identity.objects.filter(last_roster=batch).values_list("person", flat=True)) == {
        a.pk,
        b.pk,
        newcomer.pk,
    }


def test_importing_the_same_file_twice_gives_only_unchanged_rows(roster_people):
    a, b, _c = roster_people
    data = csv_bytes([row(a.name, a.id_number), row("新人", number(9))])
    run(data)
    again = run(data)
    assert again == {
        "rows": 2,
        "new": 0,
        "changed": 0,
        "terminated": 0,
        "unchanged": 2,
        "errors": [],
        "applied": True,
    }


def test_a_file_with_a_bad_row_writes_nothing(roster_people):
    a, _b, _c = roster_people
    data = csv_bytes([row("新人", number(9)), row(a.name, "150302")])
    result = run(data)
    assert result["applied"] is False
    assert result["errors"] == [
        {"row": 3, "field": "公民身份号码", "message": "身份证号码应为18位"}
    ]
    # Counts are what the valid rows would have done (a's row could not be matched).
    assert (result["new"], result["terminated"]) == (1, 3)
    assert not Person.objects.filter(id_number=number(9)).exists()
    assert not Identity.objects.filter(end__isnull=False).exists()
    assert not RosterBatch.objects.exists()


def test_dry_run_writes_nothing(roster_people):
    result = run(csv_bytes([row("新人", number(9))]), dry_run=True)
    assert result["applied"] is False and result["new"] == 1 and result["terminated"] == 3
    assert not Identity.objects.filter(end__isnull=False).exists()
    assert not RosterBatch.objects.exists()


def test_rerecognition_after_the_identity_ended_is_new(haibowan):
    person = PersonFactory(region=haibowan, id_number=number(1))
    old = grant(person, start=date(2021, 1, 1), end=date(2022, 3, 31))
    run(csv_bytes([row(person.name, person.id_number, start="2023-02-01")]))
    identities = list(person.identities.order_by("start"))
    assert len(identities) == 2
    assert identities[0].pk == old.pk and identities[0].end == date(2022, 3, 31)
    assert identities[1].start == date(2023, 2, 1) and identities[1].end is None


def test_open_identity_is_matched_before_the_latest_one(haibowan):
    person = PersonFactory(region=haibowan, id_number=number(1))
    grant(person, start=date(2020, 1, 1), end=date(2020, 12, 31))
    current = grant(person, start=date(2022, 1, 1))
    plan = preview(csv_bytes([row(person.name, person.id_number, start="2022-01-01")]))
    assert plan.planned[0].identity.pk == current.pk
    assert plan.counts["unchanged"] == 1


def test_termination_end_is_its_start_when_that_is_later_than_the_day_before(haibowan):
    person = PersonFactory(region=haibowan, id_number=number(1))
    same_day = grant(person, start=AS_OF)
    run(csv_bytes([row("别人", number(2))]))
    same_day.refresh_from_db()
    assert same_day.end == AS_OF


def test_identity_starting_after_as_of_is_never_terminated(haibowan):
    # §9.1: it is newer than the roster (a browser walk lost a paid identity this way).
    person = PersonFactory(region=haibowan, id_number=number(1))
    future = grant(person, start=date(2023, 7, 10))
    result = run(csv_bytes([row("别人", number(2))]))
    future.refresh_from_db()
    assert future.end is None
    assert result["terminated"] == 0


def test_other_departments_and_other_regions_are_not_terminated(haibowan, wuda):
    mine = PersonFactory(region=haibowan, id_number=number(1))
    theirs = PersonFactory(region=wuda, id_number=idnumber.make("150304", date(1970, 1, 1), 5))
    grant(mine, Category.POVERTY_RISK, department=Department.RURAL_REVITALIZATION)
    grant(theirs)
    result = run(csv_bytes([row("别人", number(2))]))
    assert result["terminated"] == 0


def test_name_and_household_region_follow_the_latest_roster(haibowan, wuhai):
    person = PersonFactory(region=haibowan, id_number=number(1), name="旧名")
    grant(person)
    run(csv_bytes([row("新名", person.id_number, region="150303")]), region=wuhai)
    person.refresh_from_db()
    assert (person.name, person.region_id) == ("新名", "150303")
    assert person.identities.get().region_id == "150303"


def test_an_older_roster_does_not_overwrite_the_name(haibowan):
    person = PersonFactory(region=haibowan, id_number=number(1), name="旧名")
    run(csv_bytes([row("新名", person.id_number)]), as_of=date(2023, 7, 1))
    run(
        csv_bytes([row("更旧的名", person.id_number, category="特困人员")]),
        as_of=date(2023, 1, 1),
        department="other",
    )
    person.refresh_from_db()
    assert person.name == "新名"


# --- The command ----------------------------------------------------------------------------


def _command(tmp_path, data, *extra, name="roster.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(
            "import_roster",
            str(path),
            "--department",
            "civil_affairs",
            "--region",
            "150302",
            "--as-of",
            "2023-07-01",
            *extra,
            stdout=out,
            stderr=err,
        )
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


def test_command_prints_the_json_and_exits_0(tmp_path, roster_people):
    code, out, _err = _command(tmp_path, csv_bytes([row("新人", number(9))]))
    assert code == 0
    assert json.loads(out) == {
        "rows": 1,
        "new": 1,
        "changed": 0,
        "terminated": 3,
        "unchanged": 0,
        "errors": [],
        "applied": True,
    }


def test_command_with_row_errors_exits_1_writes_nothing_and_prints_the_json(tmp_path, db):
    bad = number(1)[:17] + ("0" if number(1)[17] != "0" else "1")
    code, out, _err = _command(tmp_path, csv_bytes([row("新人", number(9)), row("李四", bad)]))
    assert code == 1
    result = json.loads(out)
    assert result["errors"] == [{"row": 3, "field": "公民身份号码", "message": "校验码错误"}]
    assert result["new"] == 1 and result["applied"] is False
    assert not Person.objects.exists()


def test_command_dry_run_exits_0_with_applied_false(tmp_path, db):
    code, out, _err = _command(tmp_path, csv_bytes([row("新人", number(9))]), "--dry-run")
    assert code == 0 and json.loads(out)["applied"] is False
    assert not Person.objects.exists()


def test_command_missing_column_exits_2_with_nothing_on_stdout(tmp_path, db):
    code, out, err = _command(tmp_path, csv_bytes([["王建国"]], header=["姓名"]))
    assert code == 2 and out == "" and "公民身份号码" in err


def test_command_unknown_region_or_bad_date_exits_2(tmp_path, db):
    path = tmp_path / "r.csv"
    path.write_bytes(csv_bytes([]))
    for args in (
        ["--region", "999999", "--as-of", "2023-07-01"],
        ["--region", "150302", "--as-of", "2023-7"],
    ):
        with pytest.raises(CommandError) as exc:
            call_command("import_roster", str(path), "--department", "civil_affairs", *args)
        assert exc.value.returncode == 2


def test_command_missing_file_exits_2(tmp_path, db):
    with pytest.raises(CommandError) as exc:
        call_command(
            "import_roster",
            str(tmp_path / "nope.csv"),
            "--department",
            "civil_affairs",
            "--region",
            "150302",
            "--as-of",
            "2023-07-01",
        )
    assert exc.value.returncode == 2


def test_demo_roster_imports_against_the_demo_data(tmp_path, caseworker_haibowan):
    from pathlib import Path

    from beneficiaries import demo

    demo.seed(users={"caseworker": caseworker_haibowan})
    path = Path(demo.__file__).parent / "demo_data" / demo.DEMO_ROSTER_NAME
    code, out, _err = _command(tmp_path, path.read_bytes(), "--dry-run")
    assert code == 0
    assert json.loads(out) == {
        "rows": 9,
        "new": 3,
        "changed": 1,
        "terminated": 1,
        "unchanged": 5,
        "errors": [],
        "applied": False,
    }


# --- §9.1: open on as_of, stale rosters ------------------------------------------------------


def test_a_roster_older_than_the_last_applied_one_exits_2_and_writes_nothing(tmp_path, haibowan):
    person = PersonFactory(region=haibowan, id_number=number(1))
    kept = grant(person, start=date(2023, 1, 1))
    run(csv_bytes([row(person.name, person.id_number)]))  # as of 2023-07-01
    code, out, err = _command(
        tmp_path, csv_bytes([row("别人", number(2))]), "--as-of", "2023-03-01"
    )
    assert (code, out) == (2, "")
    assert "名单日期早于已导入的最新名单（2023-07-01）" in err
    kept.refresh_from_db()
    assert kept.end is None
    assert not Person.objects.filter(id_number=number(2)).exists()


def test_a_roster_of_the_same_date_or_later_is_not_stale(haibowan):
    person = PersonFactory(region=haibowan, id_number=number(1))
    grant(person, start=date(2023, 1, 1))
    run(csv_bytes([row(person.name, person.id_number)]))
    assert run(csv_bytes([row(person.name, person.id_number)]))["unchanged"] == 1
    later = run(csv_bytes([row(person.name, person.id_number)]), as_of=date(2023, 8, 1))
    assert later["unchanged"] == 1 and later["applied"]


def test_staleness_is_per_department_and_region(haibowan, wuda):
    person = PersonFactory(region=haibowan, id_number=number(1))
    grant(person, start=date(2023, 1, 1))
    run(csv_bytes([row(person.name, person.id_number)]))
    other_department = run(
        csv_bytes([]), department=Department.RURAL_REVITALIZATION, as_of=date(2023, 3, 1)
    )
    assert other_department["applied"]
    other_region = run(csv_bytes([]), region=wuda, as_of=date(2023, 3, 1))
    assert other_region["applied"]


def test_a_row_is_matched_with_the_identity_open_on_as_of_not_a_later_one(haibowan):
    person = PersonFactory(region=haibowan, id_number=number(1))
    current = grant(person, start=date(2023, 1, 1), end=date(2023, 7, 31))
    grant(person, start=date(2023, 9, 1))  # newer than the roster
    plan = preview(
        csv_bytes([row(person.name, person.id_number, start="2023-01-01", end="2023-07-31")])
    )
    assert plan.planned[0].identity.pk == current.pk
    assert plan.counts == {"rows": 1, "new": 0, "changed": 0, "terminated": 0, "unchanged": 1}
