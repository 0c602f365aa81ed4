"""DOMAIN §8: undoing a reconciliation match leaves a trace (who, when, from where, which
statement line and which ledger entry)."""

from datetime import date

import pytest
from django.urls import reverse

from core.models import AuditEvent
from funds.matching import match_undo
from funds.models import Match, Reconciliation, Subject
from funds.reconciliation import statement_reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def matched(tmp_path, fund, post_income, accountant_city):
    voucher = post_income("1000.00", booked_on=date(2023, 7, 1), reference="CZ-001")
    path = tmp_path / "statement.csv"
    path.write_text("日期,凭证号,摘要,收入,支出\n2023-07-20,CZ-001,中央补助,1000.00,\n")
    statement_reconcile(
        fund=fund, year=2023, month=7, file_or_path=path, filename=path.name, by=accountant_city
    )
    recon = Reconciliation.objects.get()
    leg = voucher.legs.get(subject_id=Subject.FISCAL)
    return recon, recon.matches.get(), recon.lines.get(), leg


def test_undoing_a_match_on_the_page_is_audited_with_the_line_and_the_entry(
    client, accountant_city, matched
):
    recon, match, line, leg = matched
    client.force_login(accountant_city)
    url = reverse("funds:reconciliation_unmatch", args=[recon.fund.area_id, recon.pk, match.pk])
    response = client.post(url, REMOTE_ADDR="10.3.3.3")
    assert response.status_code == 302
    assert not Match.objects.exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.MATCH_UNDO)
    assert event.user == accountant_city
    assert event.ip_address == "10.3.3.3"
    assert event.at is not None
    assert (event.object_type, event.object_id) == ("funds.reconciliation", str(recon.pk))
    assert event.detail["match"] == match.pk
    assert event.detail["kind"] == "auto"
    assert [(x["id"], x["row"], x["amount"], x["reference"]) for x in event.detail["lines"]] == [
        (line.pk, line.row, "1000.00", "CZ-001")
    ]
    assert [(x["id"], x["transaction"], x["amount"]) for x in event.detail["legs"]] == [
        (leg.pk, leg.transaction_id, "1000.00")
    ]


def test_undoing_a_match_twice_is_refused_and_logged_once(accountant_city, matched):
    from django.core.exceptions import ValidationError

    _recon, match, _line, _leg = matched
    stale = Match.objects.get(pk=match.pk)
    match_undo(match=match, by=accountant_city)
    with pytest.raises(ValidationError, match="已被取消"):
        match_undo(match=stale, by=accountant_city)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.MATCH_UNDO).count() == 1
