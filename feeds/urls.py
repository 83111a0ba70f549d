"""/feeds/<FEED_TOKEN>/kaspi.xml: the published price list."""

from django.urls import path

from . import views

app_name = "feeds"
urlpatterns = [
    path("<str:token>/kaspi.xml", views.price_list, name="kaspi_xml"),
]
