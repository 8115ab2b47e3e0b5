from django.urls import URLPattern, URLResolver

app_name = "dataio"

urlpatterns: list[URLPattern | URLResolver] = []
