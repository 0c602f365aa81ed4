import pytest
from django.urls import reverse

from beneficiaries.services import identity_terminate
from tests.factories import IdentityFactory

pytestmark = pytest.mark.django_db


def test_a_change_keeps_who_when_and_the_before_value(caseworker_haibowan):
    identity = IdentityFactory()
    identity_terminate(
        identity=identity,
        end=identity.start.replace(month=6),
        reason="迁出",
        by=caseworker_haibowan,
    )
    latest, before = identity.history.all()[:2]
    assert latest.history_user == caseworker_haibowan
    assert latest.end is not None and before.end is None
    assert latest.history_date is not None


def test_admin_changes_record_the_client_ip(client, admin_city):
    admin_city.is_superuser = True
    admin_city.save()
    client.force_login(admin_city)
    identity = IdentityFactory()
    person = identity.person
    url = reverse("admin:beneficiaries_person_change", args=[person.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "name": "改名后",
            "region": person.region_id,
            "identities-TOTAL_FORMS": "1",
            "identities-INITIAL_FORMS": "1",
            "identities-MIN_NUM_FORMS": "0",
            "identities-MAX_NUM_FORMS": "1000",
            "identities-0-id": identity.pk,
            "identities-0-person": person.pk,
        }
    )
    data.pop("household", None)
    response = client.post(url, data, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = person.history.first()
    assert row.name == "改名后"
    assert row.ip_address == "10.1.2.3"
    assert row.history_user == admin_city
