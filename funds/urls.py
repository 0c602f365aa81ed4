from django.urls import path

from funds import views

app_name = "funds"
urlpatterns = [
    path("", views.index, name="index"),
]
