from django.urls import path

from rapport.catalog import views

app_name = "catalog"

urlpatterns = [
    path("products/", views.product_list, name="products"),
    path("products/count/", views.product_count, name="product-count"),
    path("products/export.csv", views.product_export, name="product-export"),
    path("products/new/", views.product_new, name="product-new"),
    path("products/trash/", views.product_trash, name="product-trash"),
    path("products/exchange-rates/", views.exchange_rates, name="exchange-rates"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("products/<int:pk>/<slug:verb>/", views.product_action, name="product-action"),
]
