from rest_framework.routers import SimpleRouter

from rapport.catalog.api import views

router = SimpleRouter(trailing_slash=False)
router.register("products", views.ProductViewSet, basename="product")
router.register("exchange-rates", views.ExchangeRateViewSet, basename="exchange-rate")

urlpatterns = router.urls
