"""The alert work queue (DOMAIN §7): region scoping, filters, workflow, assignment, export."""

from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from factories import PersonFactory
from monitoring_helpers import certno

from core.models import AuditEvent, Region
from monitoring.models import Alert, AlertNote
from monitoring.services import alert_transition

pytestmark = pytest.mark.django_db


def make_alert(n=1, region="150302", **kwargs):
    number = certno(n, region)
    defaults = {
        "kind": Alert.Kind.HIGH_COST,
        "year": 2023,
        "period": "2023",
        "certno": number,
        "name": f"人员{n}",
        "region": Region.objects.get(code=region),
        "watch": Alert.Watch.IMPOVERISHMENT,
        "burden": Decimal("30000.00"),
        "threshold": Decimal("22000.00"),
        "evidence": {"period_end": "2023-12-31"},
    }
    defaults.update(kwargs)
    return Alert.objects.create(**defaults)


def test_caseworkers_see_their_regions_queue_only(client, caseworker_haibowan):
    mine, other = make_alert(1, "150302"), make_alert(2, "150304")
    client.force_login(caseworker_haibowan)
    response = client.get(reverse("monitoring:index"))
    assert list(response.context["page"]) == [mine]
    assert other.name not in response.content.decode()


def test_an_alert_of_another_region_is_a_404(client, caseworker_haibowan):
    other = make_alert(2, "150304")
    client.force_login(caseworker_haibowan)
    assert client.get(reverse("monitoring:alert_detail", args=[other.pk])).status_code == 404
    response = client.post(
        reverse("monitoring:alert_transition", args=[other.pk]), {"status": "in_progress"}
    )
    assert response.status_code == 404


def test_the_queue_filters_by_kind_status_assignee_and_year(client, supervisor_city):
    a = make_alert(1, assignee=supervisor_city)
    make_alert(2, year=2022)
    make_alert(3, kind=Alert.Kind.UNINSURED, watch="")
    make_alert(4, status=Alert.Status.DISMISSED)
    client.force_login(supervisor_city)
    url = reverse("monitoring:index")
    assert len(client.get(url).context["page"].object_list) == 3
    page = client.get(url, {"kind": "high_cost", "year": "2023", "assignee": "me"}).context["page"]
    assert list(page) == [a]
    assert len(client.get(url, {"status": "dismissed"}).context["page"].object_list) == 1
    assert len(client.get(url, {"status": "all"}).context["page"].object_list) == 4


def test_the_detail_shows_the_settlements_behind_the_burden(
    client, caseworker_haibowan, import_rows
):
    from monitoring_helpers import srow

    p = PersonFactory(id_number=certno(1))
    import_rows(
        [srow("S1", p.id_number, "30000"), srow("S2", p.id_number, "1", enddate="2024-01-02")]
    )
    alert = make_alert(1, person=p)
    client.force_login(caseworker_haibowan)
    response = client.get(reverse("monitoring:alert_detail", args=[alert.pk]))
    assert [s.setl_id for s in response.context["settlements"]] == ["S1"]
    assert reverse("beneficiaries:person_detail", args=[p.pk]) in response.content.decode()


def test_an_alert_moves_open_in_progress_referred(client, caseworker_haibowan):
    alert = make_alert(1)
    client.force_login(caseworker_haibowan)
    url = reverse("monitoring:alert_transition", args=[alert.pk])
    client.post(url, {"status": "in_progress"})
    alert.refresh_from_db()
    assert (alert.status, alert.assignee) == ("in_progress", caseworker_haibowan)
    client.post(url, {"status": "referred", "reason": "移交民政部门认定"})
    alert.refresh_from_db()
    assert alert.status == "referred" and alert.burden_at_close == Decimal("30000.00")
    assert list(alert.notes.values_list("status_to", flat=True)) == ["in_progress", "referred"]
    assert alert.history.count() >= 3


def test_dismissing_requires_a_reason(caseworker_haibowan):
    alert = make_alert(1)
    with pytest.raises(ValidationError):
        alert_transition(alert=alert, status="dismissed", reason="  ", by=caseworker_haibowan)
    alert_transition(alert=alert, status="dismissed", reason="重复记录", by=caseworker_haibowan)
    alert.refresh_from_db()
    assert (alert.status, alert.status_reason) == ("dismissed", "重复记录")


def test_a_closed_alert_cannot_move_again(caseworker_haibowan):
    alert = make_alert(1, status=Alert.Status.RESOLVED)
    with pytest.raises(ValidationError):
        alert_transition(alert=alert, status="in_progress", by=caseworker_haibowan)


def test_regional_viewers_read_but_cannot_change(client, regional_viewer):
    alert = make_alert(1)
    client.force_login(regional_viewer)
    assert client.get(reverse("monitoring:alert_detail", args=[alert.pk])).status_code == 200
    response = client.post(
        reverse("monitoring:alert_transition", args=[alert.pk]), {"status": "in_progress"}
    )
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


def test_many_alerts_are_assigned_at_once_with_a_note_each(
    client, supervisor_city, caseworker_haibowan
):
    alerts = [make_alert(n) for n in range(1, 4)]
    client.force_login(supervisor_city)
    client.post(
        reverse("monitoring:alert_assign"),
        {"alert": [a.pk for a in alerts[:2]], "assignee": caseworker_haibowan.pk},
    )
    assigned = Alert.objects.filter(assignee=caseworker_haibowan)
    assert set(assigned) == set(alerts[:2])
    assert AlertNote.objects.filter(alert__in=alerts[:2]).count() == 2


def test_notes_are_added_to_the_history(client, caseworker_haibowan):
    alert = make_alert(1)
    client.force_login(caseworker_haibowan)
    client.post(reverse("monitoring:alert_note", args=[alert.pk]), {"text": "已电话联系家属"})
    assert alert.notes.get().text == "已电话联系家属"


def _export(client, **params):
    response = client.get(reverse("monitoring:alert_export"), params)
    assert response.status_code == 200
    from io import BytesIO

    sheet = openpyxl.load_workbook(BytesIO(response.content)).active
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_supervisors_export_full_id_numbers_and_the_export_is_logged(client, supervisor_city):
    alert = make_alert(1)
    client.force_login(supervisor_city)
    rows = _export(client)
    assert rows[1][0] == alert.certno
    event = AuditEvent.objects.get(action="export")
    assert event.user == supervisor_city and event.detail["full_id"] is True


def test_caseworkers_may_not_export(client, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    assert client.get(reverse("monitoring:alert_export")).status_code == 403


def test_an_export_without_the_full_id_permission_is_masked(client, caseworker_haibowan):
    from django.contrib.auth.models import Permission

    alert = make_alert(1)
    caseworker_haibowan.user_permissions.add(Permission.objects.get(codename="export_alerts"))
    client.force_login(caseworker_haibowan)
    rows = _export(client)
    assert rows[1][0] == alert.certno[:6] + "********" + alert.certno[-4:]


def test_the_dashboard_card_counts_open_alerts_by_kind(supervisor_city):
    from monitoring.selectors import dashboard_context

    make_alert(1)
    make_alert(2, kind=Alert.Kind.UNINSURED, watch="")
    make_alert(3, status=Alert.Status.DISMISSED)
    context = dashboard_context(supervisor_city)
    counts = {row["kind"]: row["count"] for row in context["monitoring_open_by_kind"]}
    assert counts["high_cost"] == 1 and counts["uninsured"] == 1
    assert context["monitoring_open_total"] == 2
    assert sum(m["count"] for m in context["monitoring_trend"]) == 3


def test_the_person_page_lists_the_persons_alerts_and_settlements(
    client, caseworker_haibowan, import_rows
):
    from monitoring_helpers import srow

    p = PersonFactory(id_number=certno(1))
    import_rows([srow("S1", p.id_number, "30000")])
    alert = make_alert(1, person=p)
    client.force_login(caseworker_haibowan)
    page = client.get(reverse("beneficiaries:person_detail", args=[p.pk])).content.decode()
    assert reverse("monitoring:alert_detail", args=[alert.pk]) in page
    assert "30,000.00" in page


def test_selectors_give_the_claims_flow_a_persons_settlements_in_date_order(import_rows):
    from monitoring_helpers import srow

    from monitoring.selectors import settlement_by_setl_id, settlements_for

    p = PersonFactory(id_number=certno(1))
    import_rows(
        [
            srow("LATE", p.id_number, enddate="2023-09-01"),
            srow("EARLY", p.id_number, enddate="2023-02-01"),
            srow("NEXT", p.id_number, enddate="2024-01-03"),
        ]
    )
    assert [s.setl_id for s in settlements_for(p, 2023)] == ["EARLY", "LATE"]
    assert [s.setl_id for s in settlements_for(p.id_number, 2024)] == ["NEXT"]
    assert settlement_by_setl_id(" LATE ").enddate.isoformat() == "2023-09-01"
    assert settlement_by_setl_id("nope") is None
