from rest_framework.routers import SimpleRouter

from rapport.satisfaction.api import views

router = SimpleRouter(trailing_slash=False)
router.register("surveys", views.SurveyViewSet, basename="survey")
router.register("survey-invitations", views.SurveyInvitationViewSet, basename="survey-invitation")
router.register("survey-responses", views.SurveyResponseViewSet, basename="survey-response")

urlpatterns = router.urls
