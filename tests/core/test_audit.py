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


def test_page_changes_record_the_client_ip(client, caseworker_haibowan):
    # Admin no longer changes case data (DOMAIN §8): the portal page is the door, and its
    # history row keeps where the change came from.
    person = IdentityFactory().person
    client.force_login(caseworker_haibowan)
    response = client.post(
        reverse("beneficiaries:person_edit", args=[person.pk]),
        {
            "name": "改名后",
            "region": person.region_id,
            "residence": person.residence,
            "phone": person.phone,
            "relation": person.relation,
            "reason": "更正姓名",
        },
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302, response.context["form"].errors
    row = person.history.first()
    assert row.name == "改名后"
    assert row.ip_address == "10.1.2.3"
    assert row.history_user == caseworker_haibowan
