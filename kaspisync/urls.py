"""The site's URLs: the admin, the price list Kaspi polls, /healthz and the language switch."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("feeds/", include("feeds.urls")),
    path("admin/", admin.site.urls),
]
