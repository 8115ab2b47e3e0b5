from rest_framework.routers import SimpleRouter

from rapport.trading.api import views

router = SimpleRouter(trailing_slash=False)
router.register("orders", views.OrderViewSet, basename="order")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")
router.register("assets", views.AssetViewSet, basename="asset")

urlpatterns = router.urls
