"""WSGI entry point of the web server (gunicorn): marks this process as the web one."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from kaspisync.stackroom import with_stack_room

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaspisync.settings")
# This process serves the web: apps may start what only the web server should run (the alerts'
# heartbeat watchdog, which must work when no Celery worker does).
os.environ["KASPISYNC_PROCESS"] = "web"
# Each request in its own room on the interpreter's frame stack: see kaspisync/stackroom.py.
application = with_stack_room(get_wsgi_application())
# The web server loads its pages (the URLconf, and with the admin every app's ModelAdmins:
# kaspisync.admin_site) at start, as before: not during its first request, and a broken admin
# module stops it here.
get_resolver().url_patterns  # noqa: B018
