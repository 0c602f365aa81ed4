"""DOMAIN §8: admin lists and pages show ID numbers masked; opening a full one is logged."""

import pytest
from django.urls import reverse

from beneficiaries.services import person_update
from core import idnumber
from core.models import AuditEvent, Region
from monitoring.models import Alert
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _results(response, typed: str = "") -> str:
    """The changelist's result rows, without the echo of what the user typed in the search
    box (kept in the rows' links as `_changelist_filters=q%3D…`)."""
    html = response.content.decode()
    start = html.index("<tbody>", html.index('id="result_list"'))
    rows = html[start : html.index("</tbody>", start)]
    return rows.replace(f"q%3D{typed}", "") if typed else rows


@pytest.fixture
def superuser(client, admin_city):
    admin_city.is_superuser = True
    admin_city.save()
    client.force_login(admin_city)
    return admin_city


@pytest.fixture
def person(db):
    return IdentityFactory().person


def test_the_person_list_masks_the_id_number_and_finds_it_by_the_full_number(
    client, superuser, person
):
    other = PersonFactory()
    response = client.get(reverse("admin:beneficiaries_person_changelist"))
    html = response.content.decode()
    assert idnumber.mask(person.id_number) in html
    assert person.id_number not in html and other.id_number not in html
    found = client.get(reverse("admin:beneficiaries_person_changelist"), {"q": person.id_number})
    assert list(found.context["cl"].result_list) == [person]
    assert idnumber.mask(person.id_number) in _results(found)
    assert person.id_number not in _results(found, person.id_number)


def test_lists_of_identities_and_alerts_mask_and_search_by_full_id(client, superuser, person):
    alert = Alert.objects.create(
        kind=Alert.Kind.HIGH_COST,
        year=2023,
        certno=person.id_number,
        name=person.name,
        region=Region.objects.get(code="150302"),
        period="2023",
    )
    for url_name, expected in [
        ("admin:beneficiaries_identity_changelist", person.identities.get()),
        ("admin:monitoring_alert_changelist", alert),
    ]:
        response = client.get(reverse(url_name), {"q": person.id_number})
        assert list(response.context["cl"].result_list) == [expected], url_name
        assert person.id_number not in _results(response, person.id_number), url_name
    assert (
        idnumber.mask(person.id_number)
        in client.get(reverse("admin:monitoring_alert_changelist")).content.decode()
    )


def test_the_change_page_and_the_history_pages_show_the_id_number_masked(client, superuser, person):
    person_update(person=person, by=superuser, reason="更正", name="改名后")
    change = client.get(reverse("admin:beneficiaries_person_change", args=[person.pk]))
    html = change.content.decode()
    assert idnumber.mask(person.id_number) in html
    assert person.id_number not in html
    history = client.get(reverse("admin:beneficiaries_person_history", args=[person.pk]))
    assert person.id_number not in history.content.decode()
    version = person.history.last()
    page = client.get(
        reverse("admin:beneficiaries_person_simple_history", args=[person.pk, version.history_id])
    )
    assert page.status_code == 200
    assert person.id_number not in page.content.decode()
    assert not AuditEvent.objects.exists()


def test_revealing_in_admin_shows_the_full_number_and_logs_it(client, superuser, person):
    url = reverse("admin:beneficiaries_person_reveal", args=[person.pk, "id_number"])
    assert (
        url
        in client.get(
            reverse("admin:beneficiaries_person_change", args=[person.pk])
        ).content.decode()
    )
    assert client.get(url).status_code == 405  # a reveal is a deliberate POST
    response = client.post(url, REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 200
    assert person.id_number in response.content.decode()
    event = AuditEvent.objects.get()
    assert event.action == AuditEvent.Action.REVEAL_ID
    assert event.user == superuser
    assert (event.object_type, event.object_id) == ("beneficiaries.person", str(person.pk))
    assert event.ip_address == "10.9.8.7"
    assert event.detail["via"] == "admin"


def test_a_user_without_the_reveal_permission_cannot_reveal_in_admin(client, admin_city, person):
    from django.contrib.auth.models import Permission

    admin_city.user_permissions.add(
        Permission.objects.get(codename="view_person", content_type__app_label="beneficiaries")
    )
    client.force_login(admin_city)
    url = reverse("admin:beneficiaries_person_reveal", args=[person.pk, "id_number"])
    assert client.post(url).status_code == 403
    assert not AuditEvent.objects.exists()


def test_only_id_number_fields_can_be_revealed(client, superuser, person):
    url = reverse("admin:beneficiaries_person_reveal", args=[person.pk, "phone"])
    assert client.post(url).status_code == 404
