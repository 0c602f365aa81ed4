"""URLs of corrections (DOMAIN §11), included by claims.urls under the claims namespace."""

from django.urls import path

from claims import corrections_views as views

urlpatterns = [
    path("", views.proposal_list, name="proposal_list"),
    path("<int:pk>/", views.proposal_detail, name="proposal_detail"),
    path("<int:pk>/act/", views.proposal_act, name="proposal_act"),
    path("recoveries/<int:pk>/", views.recovery_detail, name="recovery_detail"),
    path("recoveries/<int:pk>/notice.pdf", views.recovery_pdf, name="recovery_pdf"),
    path("recoveries/<int:pk>/approve/", views.recovery_approve, name="recovery_approve"),
    path("recoveries/<int:pk>/notify/", views.recovery_notify, name="recovery_notify"),
    path("recoveries/<int:pk>/repay/", views.recovery_repay, name="recovery_repay"),
]
