from django.urls import path

from rapport.insights import views

app_name = "insights"

urlpatterns = [
    path("insights/", views.overview, name="overview"),
    path("insights/refresh/", views.refresh, name="refresh"),
    path("insights/tiers/", views.tiers, name="tiers"),
    path("insights/offer-rules/", views.offer_rules, name="offer-rules"),
    path("insights/offers/<int:offer_id>/follow-up/", views.follow_up, name="follow-up"),
    path("insights/offers/<int:offer_id>/deal/", views.offer_deal, name="offer-deal"),
]
