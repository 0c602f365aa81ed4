"""The alert export row is built in one place (`monitoring.selectors.alert_export_row`), for
the §9.4 CSV of `export_alerts` and for the queue's Excel workbook."""

from decimal import Decimal

import pytest
from test_alert_queue import _export, make_alert

from monitoring.selectors import (
    EXPORT_COLUMNS,
    alert_export_header,
    alert_export_row,
    alert_export_rows,
)

pytestmark = pytest.mark.django_db


def test_the_plain_row_is_the_csv_of_section_9_4(supervisor_city):
    alert = make_alert(1, amount=Decimal("12.5"), subject="S1", message="说明")
    assert alert_export_header() == EXPORT_COLUMNS
    assert alert_export_row(alert, full_id=True) == [
        alert.certno,
        "人员1",
        2023,
        "impoverishment",
        "30000.00",
        "22000.00",
        "open",
        "150302",
        "2023",
        "S1",
        "12.50",
        "",
        "说明",
    ]


def test_the_display_row_adds_the_kind_and_shows_labels(supervisor_city):
    alert = make_alert(1, burden=None, subject="S1")
    row = alert_export_row(alert, full_id=False, display=True)
    assert len(row) == len(alert_export_header(display=True)) == 16
    assert row[0] == alert.certno[:6] + "********" + alert.certno[-4:]
    assert row[3] == alert.get_kind_display()
    assert row[4] == alert.get_watch_display()
    assert row[5] is None and row[6] == Decimal("22000.00")
    assert row[7] == alert.get_status_display()
    assert row[8] == alert.region.name


def test_the_page_workbook_holds_the_display_rows(client, supervisor_city):
    from monitoring.models import Alert

    make_alert(1)
    make_alert(2)
    client.force_login(supervisor_city)
    rows = _export(client)
    alerts = Alert.objects.select_related("region", "assignee").order_by("certno")
    expected = list(alert_export_rows(alerts, full_id=True, display=True))
    assert rows[0] == alert_export_header(display=True)
    assert [[_cell(c) for c in r] for r in rows[1:]] == [[_cell(c) for c in r] for r in expected]


def _cell(value):
    """A cell as the workbook gives it back: blank is None, numbers are numbers."""
    if value == "":
        return None
    return float(value) if isinstance(value, Decimal | int) else value
