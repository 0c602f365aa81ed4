import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from beneficiaries.models import Person
from core.scoping import can_write, check_allowed, scoped
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person_haibowan(haibowan):
    return PersonFactory(region=haibowan, name="海勃湾居民")


@pytest.fixture
def person_wuda(wuda):
    return PersonFactory(region=wuda, name="乌达居民")


def test_district_caseworker_sees_only_their_district(
    client, caseworker_haibowan, person_haibowan, person_wuda
):
    client.force_login(caseworker_haibowan)
    response = client.get(reverse("beneficiaries:person_list"))
    assert response.status_code == 200
    assert "海勃湾居民" in response.content.decode()
    assert "乌达居民" not in response.content.decode()


def test_other_district_record_is_404_not_403(client, caseworker_haibowan, person_wuda):
    client.force_login(caseworker_haibowan)
    response = client.get(reverse("beneficiaries:person_detail", args=[person_wuda.pk]))
    assert response.status_code == 404


def test_own_district_record_opens(client, caseworker_haibowan, person_haibowan):
    client.force_login(caseworker_haibowan)
    response = client.get(reverse("beneficiaries:person_detail", args=[person_haibowan.pk]))
    assert response.status_code == 200


def test_city_user_sees_every_district_of_the_city(supervisor_city, person_haibowan, person_wuda):
    names = set(scoped(Person.objects.all(), supervisor_city).values_list("name", flat=True))
    assert names == {"海勃湾居民", "乌达居民"}


def test_regional_user_sees_everything_but_changes_nothing(
    regional_viewer, person_haibowan, person_wuda
):
    assert scoped(Person.objects.all(), regional_viewer).count() == 2
    assert not can_write(regional_viewer, "150302")


def test_user_without_region_sees_nothing(db, django_user_model, person_haibowan):
    user = django_user_model.objects.create_user(username="nobody", password="x")
    assert scoped(Person.objects.all(), user).count() == 0


def test_district_user_writes_only_inside_their_district(caseworker_haibowan):
    assert can_write(caseworker_haibowan, "150302")
    assert not can_write(caseworker_haibowan, "150304")
    assert not can_write(caseworker_haibowan, "150300")


def test_check_allowed_refuses_regional_users_missing_permissions_and_other_regions(
    regional_viewer, caseworker_haibowan
):
    """The service-level door every write service opens with (DOMAIN §8)."""
    with pytest.raises(PermissionDenied, match="自治区级用户只能查看"):
        check_allowed(regional_viewer, "claims.approve_application", "150302")
    with pytest.raises(PermissionDenied, match="没有执行此操作的权限"):
        check_allowed(caseworker_haibowan, "claims.approve_application", "150302")
    with pytest.raises(PermissionDenied, match="本辖区"):
        check_allowed(caseworker_haibowan, "claims.add_application", "150304")
    check_allowed(caseworker_haibowan, "claims.add_application", "150302")
