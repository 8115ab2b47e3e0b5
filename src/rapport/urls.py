from django.contrib import admin
from django.contrib.auth import views as django_auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from rapport.core.views import HealthView
from rapport.users import auth_views
from rapport.web import views as web_views

api_patterns: list[URLPattern | URLResolver] = [
    path("health", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("rapport.users.api.urls")),
    path("", include("rapport.core.api.urls")),
    path("", include("rapport.customers.api.urls")),
    path("", include("rapport.interactions.api.urls")),
    path("", include("rapport.catalog.api.urls")),
    path("", include("rapport.trading.api.urls")),
    path("", include("rapport.reminders.api.urls")),
    path("", include("rapport.insights.api.urls")),
    path("", include("rapport.sales.api.urls")),
    path("", include("rapport.service.api.urls")),
    path("", include("rapport.satisfaction.api.urls")),
    path("", include("rapport.marketing.api.urls")),
    path("", include("rapport.dataio.api.urls")),
]

urlpatterns = [
    path("", web_views.home, name="home"),
    path("login", auth_views.LoginView.as_view(), name="login"),
    path("logout", django_auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        django_auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        django_auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("settings/", include("rapport.users.urls")),
    path("search/", include("rapport.search.urls")),
    path("", include("rapport.customers.urls")),
    path("", include("rapport.interactions.urls")),
    path("", include("rapport.catalog.urls")),
    path("", include("rapport.trading.urls")),
    path("", include("rapport.reminders.urls")),
    path("", include("rapport.insights.urls")),
    path("", include("rapport.sales.urls")),
    path("", include("rapport.service.urls")),
    path("", include("rapport.satisfaction.urls")),
    path("", include("rapport.marketing.urls")),
    path("", include("rapport.dataio.urls")),
    path("api/v1/", include(api_patterns)),
    path("admin/", admin.site.urls),
]
