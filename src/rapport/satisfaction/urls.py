from django.urls import URLPattern, URLResolver

app_name = "satisfaction"

urlpatterns: list[URLPattern | URLResolver] = []
