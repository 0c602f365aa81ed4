"""DOMAIN §8 "No side doors": Django admin shows case data read-only, for everyone.

The case admins are found by enumerating `admin.site._registry`, so a model registered later in
one of the case apps is covered without touching this file: it is read-only unless it is one of
the reference tables admins maintain (EDITABLE).
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from simple_history.admin import SimpleHistoryAdmin

pytestmark = pytest.mark.django_db

CASE_APPS = {"core", "beneficiaries", "claims", "funds", "monitoring"}
# What admins maintain in admin: the region table, users, the versioned policy, the
# institution register. Everything else of the case apps is case data or written by services.
EDITABLE = {
    "core.region",
    "core.regionalias",  # superseded GB/T 2260 codes and their successors (DOMAIN §8)
    "core.user",
    "core.policy",
    "claims.institution",
    "monitoring.medicaltype",  # the medical-type dictionary (DOMAIN §9.2), reference data
}
SUBMIT_BUTTONS = ['name="_save"', 'name="_continue"', 'name="_addanother"']


def case_admins():
    found = [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in CASE_APPS and model._meta.label_lower not in EDITABLE
    ]
    assert len(found) >= 25  # persons … reconciliations: the enumeration found them
    return found


def _url(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def superuser(admin_city):
    admin_city.is_superuser = True
    admin_city.save()
    return admin_city


@pytest.fixture
def admin_with_every_permission(admin_city):
    """admin_city granted add/change/delete/view of every case model by hand: admin must still
    refuse (the guard is in the ModelAdmin, not in a permission someone can tick)."""
    cts = [ContentType.objects.get_for_model(model) for model, _ma in case_admins()]
    admin_city.user_permissions.add(*Permission.objects.filter(content_type__in=cts))
    return admin_city


@pytest.fixture
def demo(capsys):
    call_command("seed_demo")


def test_every_case_admin_refuses_add_change_delete_and_bulk_delete_to_a_superuser(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in case_admins():
        label = model._meta.label
        obj = model.objects.first()
        assert model_admin.has_add_permission(request) is False, label
        assert model_admin.has_change_permission(request, obj) is False, label
        assert model_admin.has_delete_permission(request, obj) is False, label
        assert "delete_selected" not in model_admin.get_actions(request), label
        for inline in model_admin.get_inline_instances(request, obj):
            assert not inline.has_add_permission(request, obj), (label, inline)
            assert not inline.has_change_permission(request, obj), (label, inline)
            assert not inline.has_delete_permission(request, obj), (label, inline)


@pytest.mark.parametrize("who", ["superuser", "admin_with_every_permission"])
def test_posts_to_add_change_delete_and_revert_urls_are_refused(client, demo, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user)
    for model, model_admin in case_admins():
        label = model._meta.label
        before = model.objects.count()
        obj = model.objects.first()
        pk = obj.pk if obj is not None else 1
        assert client.post(_url(model, "add"), {}).status_code == 403, label
        assert client.post(_url(model, "change", pk), {}).status_code == 403, label
        assert client.post(_url(model, "delete", pk), {"post": "yes"}).status_code == 403, label
        if obj is not None and isinstance(model_admin, SimpleHistoryAdmin):
            version = obj.history.first()
            if version is not None:
                url = _url(model, "simple_history", pk, version.history_id)
                assert client.post(url, {}).status_code == 403, label
        if obj is not None:
            response = client.post(
                _url(model, "changelist"),
                {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
            )
            assert response.status_code in (200, 302, 403), label
        assert model.objects.count() == before, label


def test_change_pages_are_read_only_for_a_superuser(client, demo, superuser):
    client.force_login(superuser)
    shown = set()
    for model, model_admin in case_admins():
        obj = model.objects.first()
        if obj is None:
            continue
        response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, model._meta.label
        html = response.content.decode()
        for button in SUBMIT_BUTTONS:
            assert button not in html, (model._meta.label, button)
        assert client.get(_url(model, "add")).status_code == 403, model._meta.label
        shown.add(model._meta.label_lower)
        if isinstance(model_admin, SimpleHistoryAdmin) and obj.history.exists():
            version = obj.history.first()
            page = client.get(_url(model, "simple_history", obj.pk, version.history_id))
            assert page.status_code == 200, model._meta.label
            assert 'name="_save"' not in page.content.decode(), model._meta.label
    # The demo data reaches the records the spec names.
    assert {
        "beneficiaries.person",
        "beneficiaries.identity",
        "claims.application",
        "claims.bill",
        "monitoring.alert",
        "monitoring.settlement",
        "funds.transaction",
        "funds.leg",
    } <= shown


def test_change_pages_are_read_only_for_admin_city(client, demo, admin_with_every_permission):
    client.force_login(admin_with_every_permission)
    for model, _model_admin in case_admins():
        obj = model.objects.first()
        if obj is None:
            continue
        response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, model._meta.label
        html = response.content.decode()
        assert not any(button in html for button in SUBMIT_BUTTONS), model._meta.label


def test_the_high_cost_watermark_and_alert_status_cannot_be_edited(client, superuser):
    from django.utils import timezone

    from monitoring.models import HighCostScanState

    state = HighCostScanState.objects.create(
        year=2023,
        period_end="2023-12-31",
        reference_date="2023-12-31",
        last_settlement_id=10,
        scanned_at=timezone.now(),
    )
    client.force_login(superuser)
    response = client.post(
        _url(HighCostScanState, "change", state.pk),
        {
            "year": 2023,
            "area": "",
            "period_end": "2023-12-31",
            "reference_date": "2023-12-31",
            "last_settlement_id": 0,
            "figures": "{}",
            "scanned_at_0": "2023-12-31",
            "scanned_at_1": "00:00:00",
        },
    )
    assert response.status_code == 403
    state.refresh_from_db()
    assert state.last_settlement_id == 10


def test_reference_tables_stay_editable(superuser):
    # The guard is not a blanket: admins keep maintaining users, policy and institutions.
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        if model._meta.label_lower in {"core.policy", "claims.institution"}:
            assert model_admin.has_change_permission(request), model._meta.label
    try:
        reverse("admin:core_user_change", args=[superuser.pk])
    except NoReverseMatch:  # pragma: no cover
        pytest.fail("users are in admin")
