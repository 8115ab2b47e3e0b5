from rest_framework.routers import SimpleRouter

from rapport.customers.api import views

router = SimpleRouter(trailing_slash=False)
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("companies", views.CompanyViewSet, basename="company")
router.register("tags", views.TagViewSet, basename="tag")

urlpatterns = router.urls
