from django.urls import URLPattern, URLResolver, path

from rapport.dataio import duplicate_views, views

app_name = "dataio"


urlpatterns: list[URLPattern | URLResolver] = [
    path("data/", views.home, name="home"),
    path("data/imports/<int:pk>/", views.job_detail, name="job"),
    path("data/imports/<int:pk>/progress/", views.job_progress, name="job-progress"),
    path("data/imports/<int:pk>/mapping/", views.job_mapping, name="job-mapping"),
    path("data/imports/<int:pk>/apply-mapping/", views.job_apply_mapping, name="job-apply"),
    path("data/imports/<int:pk>/run/", views.job_run, name="job-run"),
    path("data/imports/<int:pk>/errors.csv", views.job_errors, name="job-errors"),
    path("data/export/<str:entity>.<str:fmt>", views.export, name="export"),
    path("data/exports/", views.export_all, name="export-all"),
    path("data/exports/<int:pk>/", views.export_job, name="export-job"),
    path("data/exports/<int:pk>/progress/", views.export_job_progress, name="export-job-progress"),
    path("data/exports/<int:pk>/download/", views.export_job_download, name="export-download"),
    path("data/people/", views.person_find, name="person-find"),
    path("data/people/<int:pk>/", views.person, name="person"),
    path("data/people/<int:pk>/data.json", views.person_json, name="person-json"),
    path("data/people/<int:pk>/erase/", views.person_erase, name="person-erase"),
    path("data/retention/", views.retention, name="retention"),
    path("data/duplicates/", duplicate_views.queue, name="duplicates"),
    path("data/duplicates/scan/", duplicate_views.scan, name="duplicates-scan"),
    path("data/duplicates/<int:pk>/", duplicate_views.compare, name="duplicate"),
    path("data/duplicates/<int:pk>/dismiss/", duplicate_views.dismiss, name="duplicate-dismiss"),
    path("data/merges/<int:pk>/undo/", duplicate_views.undo, name="merge-undo"),
]
