"""kaspisync: settings, URLs, Celery wiring and the plumbing the apps share.

The Celery app (`kaspisync.celery`) is not imported here: `celery -A kaspisync` finds it, and every
task is declared on it (`@app.task`), so importing a task loads it. A process that queues nothing
(a management command, a web request that sends no task) does not carry Celery and kombu (~6 MB).
"""
