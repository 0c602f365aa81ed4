from django.urls import path

from beneficiaries import views

app_name = "beneficiaries"
urlpatterns = [
    path("", views.person_list, name="person_list"),
    path("new/", views.person_create, name="person_create"),
    path("<int:pk>/", views.person_detail, name="person_detail"),
    path("<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("<int:pk>/household/", views.household_edit, name="household_edit"),
    path("<int:pk>/identities/new/", views.identity_create, name="identity_create"),
    path("<int:pk>/enrollments/new/", views.enrollment_create, name="enrollment_create"),
    path("identities/<int:pk>/change/", views.identity_change, name="identity_change"),
    path("identities/<int:pk>/terminate/", views.identity_terminate, name="identity_terminate"),
    path("rosters/", views.roster_list, name="roster_list"),
    path("rosters/upload/", views.roster_upload, name="roster_upload"),
    path("rosters/demo.csv", views.roster_demo_file, name="roster_demo_file"),
    path("rosters/<int:pk>/", views.roster_detail, name="roster_detail"),
    path("rosters/<int:pk>/apply/", views.roster_apply, name="roster_apply"),
    path("subsidies/", views.subsidy_batch_list, name="subsidy_batch_list"),
    path("subsidies/new/", views.subsidy_batch_create, name="subsidy_batch_create"),
    path("subsidies/<int:pk>/", views.subsidy_batch_detail, name="subsidy_batch_detail"),
    path("subsidies/<int:pk>/confirm/", views.subsidy_batch_confirm, name="subsidy_batch_confirm"),
    path("subsidies/<int:pk>/export/", views.subsidy_batch_export, name="subsidy_batch_export"),
]
