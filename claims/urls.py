from django.urls import include, path

from claims import simulation_views, views

app_name = "claims"
urlpatterns = [
    path("", views.index, name="index"),
    path("queue/", views.queue, name="queue"),
    path("new/", views.start, name="start"),
    path("new/<int:person_pk>/", views.application_create, name="application_create"),
    path("print/", views.application_pdf_batch, name="application_pdf_batch"),
    path("<int:pk>/", views.application_detail, name="application_detail"),
    path("<int:pk>/edit/", views.application_edit, name="application_edit"),
    path("<int:pk>/bills/new/", views.bill_create, name="bill_create"),
    path("<int:pk>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("<int:pk>/submit/", views.application_submit, name="application_submit"),
    path("<int:pk>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("<int:pk>/decide/", views.application_decide, name="application_decide"),
    path("<int:pk>/pay/", views.application_pay, name="application_pay"),
    path("<int:pk>/form.pdf", views.application_pdf, name="application_pdf"),
    path("bills/<int:pk>/edit/", views.bill_edit, name="bill_edit"),
    path("bills/<int:pk>/delete/", views.bill_delete, name="bill_delete"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("simulations/", simulation_views.simulation_list, name="simulation_list"),
    path("corrections/", include("claims.corrections_urls")),
    path("simulations/<int:pk>/", simulation_views.simulation_detail, name="simulation_detail"),
    path("simulations/<int:pk>/xlsx/", simulation_views.simulation_xlsx, name="simulation_xlsx"),
    path(
        "simulations/<int:pk>/adopt/",
        simulation_views.simulation_adopt_view,
        name="simulation_adopt",
    ),
]
