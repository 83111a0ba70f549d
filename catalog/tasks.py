"""Celery tasks of the catalog: thin doors that take primitive arguments and call a service."""
