from django.urls import URLPattern

app_name = "interactions"

urlpatterns: list[URLPattern] = []
