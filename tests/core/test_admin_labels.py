"""The admin speaks Chinese (or English) throughout: app names, model names, empty cells."""

import pytest
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_admin_index_has_no_untranslated_celery_names(client, django_user_model, wuhai):
    admin = django_user_model.objects.create_superuser("root", password="x", region=wuhai)
    client.force_login(admin)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Celery Results" not in html and "task results" not in html.lower()
    assert "后台任务结果" in html and "任务结果" in html
    assert "Access attempts" not in html and "登录安全" in html


def test_an_empty_cell_is_a_dash_not_none(client, django_user_model, wuhai):
    admin = django_user_model.objects.create_superuser("root", password="x", region=None)
    client.force_login(admin)
    html = client.get(reverse("admin:core_user_changelist")).content.decode()
    assert ">None<" not in html


def test_audit_event_without_user_reads_system():
    from core.models import AuditEvent

    with translation.override("zh-hans"):
        event = AuditEvent.objects.create(action=AuditEvent.Action.EXPORT)
        assert "None" not in str(event)
