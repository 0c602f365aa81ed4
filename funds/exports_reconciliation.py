"""The balance-reconciliation statement (余额调节表) as a PDF, from what was stored."""

from django.template.loader import render_to_string
from django.utils import timezone

from core.pdf import render_pdf
from core.regions import agency_name
from funds.balance_statement import stored_report
from funds.models import BalanceStatement


def balance_statement_pdf(statement: BalanceStatement, *, by) -> bytes:
    recon = statement.reconciliation
    html = render_to_string(
        "funds/balance_statement_pdf.html",
        {
            "recon": recon,
            "statement": statement,
            "report": stored_report(statement),
            "agency": agency_name(recon.fund.area),
            "printed_at": timezone.localtime(),
            "printed_by": by,
        },
    )
    return render_pdf(html)
