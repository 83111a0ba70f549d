app_name = "feeds"
urlpatterns = []  # GET /feeds/<FEED_TOKEN>/kaspi.xml is added by the feeds issue
