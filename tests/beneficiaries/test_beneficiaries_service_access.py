"""The beneficiaries services check the acting user themselves (DOMAIN §8), not only the views.

`by` is required: a user is checked (role and writable region), `by=None` is the system (the
`import_roster` command, the demo seed) and has to be written out.
"""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from roster_helpers import csv_bytes

from beneficiaries import services
from beneficiaries.models import Identity, Person, RosterBatch
from beneficiaries.roster_services import roster_apply, roster_batch_create, roster_batch_plan
from beneficiaries.subsidies import subsidy_batch_confirm, subsidy_batch_create
from core import idnumber
from core.choices import Category
from core.roles import Role, grant_role
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2023, 7, 1)


def _number(seq: int, region="150302") -> str:
    return idnumber.make(region, date(1970, 1, 1), seq)


def test_by_is_required():
    with pytest.raises(TypeError):
        services.person_register(id_number=_number(1), name="张三", region=None)


def test_a_regional_viewer_changes_no_person_identity_or_enrollment(regional_viewer, haibowan):
    grant_role(regional_viewer, Role.CASEWORKER)  # even with the caseworker's permissions
    person = PersonFactory(region=haibowan)
    identity = IdentityFactory(person=person)
    by = regional_viewer
    calls = [
        lambda: services.person_register(id_number=_number(9), name="张三", region=haibowan, by=by),
        lambda: services.person_update(person=person, name="改名", by=by),
        lambda: services.household_create(region=haibowan, by=by),
        lambda: services.identity_grant(
            person=person, category=Category.DESTITUTE, start=AS_OF, region=haibowan, by=by
        ),
        lambda: services.identity_change(identity=identity, reason="x", end=AS_OF, by=by),
        lambda: services.identity_terminate(identity=identity, end=AS_OF, reason="x", by=by),
        lambda: services.enrollment_record(
            person=person, year=2023, scheme="resident", area=haibowan, by=by
        ),
        lambda: subsidy_batch_create(area=haibowan, year=2023, as_of=AS_OF, by=by),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied, match="自治区级用户只能查看"):
            call()
    person.refresh_from_db()
    identity.refresh_from_db()
    assert person.name != "改名" and identity.end is None
    assert not Person.objects.filter(id_number=_number(9)).exists()


def test_another_districts_caseworker_changes_nothing_here(caseworker_wuda, haibowan, wuda):
    person = PersonFactory(region=haibowan)
    identity = IdentityFactory(person=person)
    with pytest.raises(PermissionDenied, match="本辖区"):
        services.identity_terminate(identity=identity, end=AS_OF, reason="x", by=caseworker_wuda)
    with pytest.raises(PermissionDenied, match="本辖区"):
        services.person_update(person=person, region=wuda, by=caseworker_wuda)
    with pytest.raises(PermissionDenied, match="本辖区"):
        services.person_register(
            id_number=_number(3), name="张三", region=haibowan, by=caseworker_wuda
        )


def test_a_caseworker_cannot_move_a_person_out_of_their_district(caseworker_haibowan, wuda):
    person = PersonFactory()
    with pytest.raises(PermissionDenied):
        services.person_update(person=person, region=wuda, by=caseworker_haibowan)


def test_a_role_without_the_permission_is_refused(accountant_city, haibowan):
    person = PersonFactory(region=haibowan)
    with pytest.raises(PermissionDenied, match="没有执行此操作的权限"):
        services.identity_grant(
            person=person,
            category=Category.DESTITUTE,
            start=AS_OF,
            region=haibowan,
            by=accountant_city,
        )


def test_the_system_path_is_explicit_and_unchecked(haibowan):
    person = services.person_register(id_number=_number(5), name="张三", region=haibowan, by=None)
    assert person.pk


def test_a_regional_viewer_cannot_confirm_subsidies(regional_viewer, haibowan):
    batch = subsidy_batch_create(area=haibowan, year=2023, as_of=AS_OF, by=None)
    with pytest.raises(PermissionDenied):
        subsidy_batch_confirm(batch=batch, by=regional_viewer)


# --- Rosters from the web ----------------------------------------------------------------


def _roster(rows):
    return csv_bytes(
        [[name, number, "低保对象", "2023-01-01", "", region, ""] for name, number, region in rows]
    )


def test_a_regional_viewer_cannot_upload_or_apply_a_roster(
    regional_viewer, caseworker_haibowan, haibowan
):
    grant_role(regional_viewer, Role.CASEWORKER)
    data = _roster([("王建国", _number(1), "150302")])
    with pytest.raises(PermissionDenied):
        roster_batch_create(
            name="r.csv",
            data=data,
            department="civil_affairs",
            region=haibowan,
            as_of=AS_OF,
            by=regional_viewer,
        )
    batch = roster_batch_create(
        name="r.csv",
        data=data,
        department="civil_affairs",
        region=haibowan,
        as_of=AS_OF,
        by=caseworker_haibowan,
    )
    with pytest.raises(PermissionDenied):
        roster_apply(batch=batch, by=regional_viewer)
    batch.refresh_from_db()
    assert batch.status == RosterBatch.Status.DRAFT


def test_another_districts_caseworker_cannot_apply_a_roster(
    caseworker_haibowan, caseworker_wuda, haibowan
):
    batch = roster_batch_create(
        name="r.csv",
        data=_roster([("王建国", _number(1), "150302")]),
        department="civil_affairs",
        region=haibowan,
        as_of=AS_OF,
        by=caseworker_haibowan,
    )
    with pytest.raises(PermissionDenied):
        roster_apply(batch=batch, by=caseworker_wuda)
    assert not Person.objects.exists()


def test_a_users_roster_cannot_change_a_person_of_another_district(
    supervisor_city, caseworker_haibowan, haibowan, wuda
):
    """The row is in 海勃湾区, but the person is registered in 乌达区: a row error, nothing
    written. The city's users (whose subtree holds both) may apply it."""
    moved = PersonFactory(region=wuda, id_number=_number(2, "150304"), name="李四")
    data = _roster([("王建国", _number(1), "150302"), ("李四", moved.id_number, "150302")])
    batch = roster_batch_create(
        name="r.csv",
        data=data,
        department="civil_affairs",
        region=haibowan,
        as_of=AS_OF,
        by=caseworker_haibowan,
    )
    plan = roster_batch_plan(batch, by=caseworker_haibowan)
    assert plan.errors == [
        {
            "row": 3,
            "field": "公民身份号码",
            "message": "该人员户籍不在您的辖区内，不能通过本名单变更。",
        }
    ]
    with pytest.raises(ValidationError):
        roster_apply(batch=batch, by=caseworker_haibowan)
    assert not Identity.objects.exists()
    moved.refresh_from_db()
    assert moved.region_id == "150304"
    assert not roster_batch_plan(batch, by=None).errors
