from rest_framework.routers import SimpleRouter

from rapport.core.api import custom_fields

router = SimpleRouter(trailing_slash=False)
router.register("custom-fields", custom_fields.CustomFieldViewSet, basename="custom-field")

urlpatterns = router.urls
