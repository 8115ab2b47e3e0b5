from django.urls import path

from rapport.trading import views

app_name = "trading"

urlpatterns = [
    path("orders/", views.order_list, name="orders"),
    path("orders/count/", views.order_count, name="order-count"),
    path("orders/export.csv", views.order_export, name="order-export"),
    path("orders/new/", views.order_new, name="order-new"),
    path("orders/trash/", views.order_trash, name="order-trash"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("orders/<int:pk>/edit/", views.order_edit, name="order-edit"),
    path("orders/<int:pk>/<slug:verb>/", views.order_action, name="order-action"),
    path("assets/", views.asset_list, name="assets"),
    path("assets/count/", views.asset_count, name="asset-count"),
    path("assets/export.csv", views.asset_export, name="asset-export"),
    path("assets/trash/", views.asset_trash, name="asset-trash"),
    path("assets/<int:pk>/", views.asset_detail, name="asset"),
    path("assets/<int:pk>/<slug:verb>/", views.asset_action, name="asset-action"),
]
