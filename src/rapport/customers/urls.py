from django.urls import path

from rapport.customers import views

app_name = "customers"

urlpatterns = [
    path("contacts/", views.contact_list, name="contacts"),
    path("contacts/count/", views.contact_count, name="contact-count"),
    path("contacts/export.csv", views.contact_export, name="contact-export"),
    path("contacts/bulk/", views.contact_bulk, name="contact-bulk"),
    path("contacts/trash/", views.contact_trash, name="contact-trash"),
    path("companies/", views.company_list, name="companies"),
    path("companies/count/", views.company_count, name="company-count"),
    path("companies/export.csv", views.company_export, name="company-export"),
    path("companies/bulk/", views.company_bulk, name="company-bulk"),
    path("companies/trash/", views.company_trash, name="company-trash"),
    path("views/<str:list_key>/save/", views.save_view, name="view-save"),
    path("views/<int:view_id>/delete/", views.delete_view, name="view-delete"),
]

urlpatterns += [
    path("contacts/new/", views.contact_new, name="contact-new"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact"),
    path("contacts/<int:pk>/<slug:verb>/", views.contact_action, name="contact-action"),
    path("companies/new/", views.company_new, name="company-new"),
    path("companies/suggest/", views.company_suggest, name="company-suggest"),
    path("companies/<int:pk>/", views.company_detail, name="company"),
    path("companies/<int:pk>/<slug:verb>/", views.company_action, name="company-action"),
]
