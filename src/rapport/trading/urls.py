from django.urls import URLPattern

app_name = "trading"

urlpatterns: list[URLPattern] = []
