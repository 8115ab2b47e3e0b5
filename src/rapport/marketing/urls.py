from django.urls import path

from rapport.marketing import automation_views, public_views, views, webhook_views

app_name = "marketing"

urlpatterns = [
    path("segments/", views.segment_list, name="segments"),
    path("segments/new/", views.segment_new, name="segment-new"),
    path("segments/editor/", views.rule_editor, name="rule-editor"),
    path("segments/preview-count/", views.preview_count, name="preview-count"),
    path("segments/<int:pk>/", views.segment_detail, name="segment"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment-edit"),
    path("segments/<int:pk>/count/", views.segment_count, name="segment-count"),
    path("segments/<int:pk>/export.csv", views.segment_export, name="segment-export"),
    path("segments/<int:pk>/<slug:verb>/", views.segment_action, name="segment-action"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/new/", views.campaign_new, name="campaign-new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign-edit"),
    path("campaigns/<int:pk>/preview/", views.campaign_preview, name="campaign-preview"),
    path("campaigns/<int:pk>/preview.html", views.campaign_preview_html, name="campaign-html"),
    path("campaigns/<int:pk>/<slug:verb>/", views.campaign_action, name="campaign-action"),
    path("automation/", automation_views.automation_list, name="automation"),
    path("automation/new/", automation_views.automation_new, name="automation-new"),
    path("automation/<int:pk>/edit/", automation_views.automation_edit, name="automation-edit"),
    path(
        "automation/<int:pk>/<slug:verb>/",
        automation_views.automation_action,
        name="automation-action",
    ),
    path("automation/webhooks/", webhook_views.webhook_list, name="webhooks"),
    path("automation/webhooks/new/", webhook_views.webhook_new, name="webhook-new"),
    path("automation/webhooks/<int:pk>/", webhook_views.webhook_detail, name="webhook"),
    path("automation/webhooks/<int:pk>/edit/", webhook_views.webhook_edit, name="webhook-edit"),
    path(
        "automation/webhooks/deliveries/<int:pk>/resend/",
        webhook_views.delivery_resend,
        name="webhook-resend",
    ),
    path(
        "automation/webhooks/<int:pk>/<slug:verb>/",
        webhook_views.webhook_action,
        name="webhook-action",
    ),
    # Public: reached from the e-mail, no login; the signed token is the key.
    path("m/u/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
    path("m/c/<str:token>/", public_views.click, name="click"),
    path("m/o/<str:token>/", public_views.opened, name="open"),
]
