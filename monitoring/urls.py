from django.urls import path

from monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("", views.index, name="index"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/transition/", views.alert_transition, name="alert_transition"),
    path("alerts/<int:pk>/reopen/", views.alert_reopen, name="alert_reopen"),
    path("alerts/<int:pk>/note/", views.alert_note, name="alert_note"),
    path("alerts/assign/", views.alert_assign, name="alert_assign"),
    path("alerts/export.xlsx", views.alert_export, name="alert_export"),
    path("settlements/imports/", views.imports, name="imports"),
    path("settlements/imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("settlements/imports/<int:pk>/status/", views.import_status, name="import_status"),
    path("settlements/imports/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("runs/", views.runs, name="runs"),
]
