from django.urls import path

from funds import views, views_clearing, views_reconciliation

app_name = "funds"
urlpatterns = [
    path("", views.index, name="index"),
    path("subjects/", views.subjects, name="subjects"),
    path("<str:area>/", views.fund_detail, name="fund"),
    path("<str:area>/transactions/", views.transaction_list, name="transaction_list"),
    path("<str:area>/transactions/new/", views.entry_new, name="entry_new"),
    path("<str:area>/transactions/<int:pk>/", views.transaction_detail, name="transaction_detail"),
    path("<str:area>/transactions/<int:pk>/approve/", views.entry_approve, name="entry_approve"),
    path("<str:area>/transactions/<int:pk>/reject/", views.entry_reject, name="entry_reject"),
    path("<str:area>/transactions/<int:pk>/reverse/", views.entry_reverse, name="entry_reverse"),
    path("<str:area>/periods/", views.period_list, name="period_list"),
    path(
        "<str:area>/periods/<int:year>-<int:month>/close/", views.period_close, name="period_close"
    ),
    path(
        "<str:area>/periods/<int:year>-<int:month>/reopen/",
        views.period_reopen,
        name="period_reopen",
    ),
    path("<str:area>/budget/", views.budget, name="budget_current"),
    path("<str:area>/budget/<int:year>/", views.budget, name="budget"),
    path(
        "<str:area>/reconciliations/",
        views_reconciliation.reconciliation_list,
        name="reconciliation_list",
    ),
    path(
        "<str:area>/reconciliations/<int:pk>/",
        views_reconciliation.reconciliation_detail,
        name="reconciliation_detail",
    ),
    path(
        "<str:area>/reconciliations/<int:pk>/match/",
        views_reconciliation.reconciliation_match,
        name="reconciliation_match",
    ),
    path(
        "<str:area>/reconciliations/<int:pk>/unmatch/<int:match>/",
        views_reconciliation.reconciliation_unmatch,
        name="reconciliation_unmatch",
    ),
    path(
        "<str:area>/reconciliations/<int:pk>/rematch/",
        views_reconciliation.reconciliation_rematch,
        name="reconciliation_rematch",
    ),
    path(
        "<str:area>/reconciliations/<int:pk>/adjust/<int:line>/",
        views_reconciliation.reconciliation_adjust,
        name="reconciliation_adjust",
    ),
    path(
        "<str:area>/reconciliations/<int:pk>/done/",
        views_reconciliation.reconciliation_done,
        name="reconciliation_done",
    ),
    path(
        "<str:area>/reconciliations/<int:pk>/finish/",
        views_reconciliation.reconciliation_finish,
        name="reconciliation_finish",
    ),
    path(
        "<str:area>/reconciliations/<int:pk>/balance-statement.pdf",
        views_reconciliation.balance_statement_pdf,
        name="balance_statement_pdf",
    ),
    path("<str:area>/report/", views.report, name="report"),
    path("<str:area>/report.xlsx", views.report_xlsx, name="report_xlsx"),
    path("<str:area>/report.pdf", views.report_pdf, name="report_pdf"),
    # Clearing with institutions (DOMAIN §10)
    path("<str:area>/clearings/", views_clearing.clearing_list, name="clearing_list"),
    path("<str:area>/clearings/<int:pk>/", views_clearing.clearing_detail, name="clearing_detail"),
    path(
        "<str:area>/clearings/<int:pk>/approve/",
        views_clearing.clearing_approve,
        name="clearing_approve",
    ),
    path("<str:area>/clearings/<int:pk>/pay/", views_clearing.clearing_pay, name="clearing_pay"),
    path(
        "<str:area>/clearings/<int:pk>/lines/<int:line>/",
        views_clearing.clearing_line,
        name="clearing_line",
    ),
    path(
        "<str:area>/clearings/<int:pk>/print/",
        views_clearing.clearing_pdf_batch,
        name="clearing_pdf_batch",
    ),
    path(
        "<str:area>/clearings/<int:pk>/<str:payee>.pdf",
        views_clearing.clearing_pdf,
        name="clearing_pdf",
    ),
    path("<str:area>/clearings/<int:pk>.xlsx", views_clearing.clearing_xlsx, name="clearing_xlsx"),
]
