"""Where the apps are wired together: the periodic tasks Celery beat queues, and how often.

Only the timing lives here. What follows an import is wired elsewhere: the price recompute by
catalog itself (catalog/services/hooks.py), the price list rebuild by feeds listening to
`catalog_changed` (FeedsConfig.ready), which asks for it through the outbox that the
"deferred-tasks" round below empties (kaspisync.runs.defer_task). What a monitor expects of each job (its interval and
thresholds) is registered by its app (kaspisync.registry.Job, same interval settings).
"""

from celery.schedules import crontab
from django.conf import settings


def beat_schedule() -> dict:
    summary_hour, summary_minute = (int(part) for part in settings.ALERT_DAILY_SUMMARY_AT.split(":"))
    return {
        "worker-heartbeat": {
            "task": "kaspisync.tasks.heartbeat",
            "schedule": 60.0,
        },
        "deferred-tasks": {  # what follows a change (kaspisync.runs.defer_task), once it is due
            "task": "kaspisync.tasks.send_deferred_tasks",
            "schedule": float(settings.DEFERRED_TASKS_INTERVAL),
        },
        "catalog-full-import": {
            "task": "catalog.tasks.import_catalog",
            "schedule": float(settings.IMPORT_FULL_INTERVAL),
            "kwargs": {"quick": False, "trigger": "schedule"},
        },
        "catalog-quick-refresh": {
            "task": "catalog.tasks.import_catalog",
            "schedule": float(settings.IMPORT_QUICK_INTERVAL),
            "kwargs": {"quick": True, "trigger": "schedule"},
        },
        "catalog-expire-price-overrides": {
            "task": "catalog.tasks.expire_price_overrides",
            "schedule": float(settings.PRICING_EXPIRY_INTERVAL),
        },
        "catalog-recompute-prices": {  # a safety net: every price as the rules say, once a day
            "task": "catalog.tasks.recompute_prices",
            "schedule": float(settings.PRICING_RECOMPUTE_INTERVAL),
            "kwargs": {"trigger": "schedule"},
        },
        "feeds-build": {
            "task": "feeds.tasks.build_feed",
            "schedule": float(settings.FEED_BUILD_INTERVAL),
            "kwargs": {"trigger": "schedule"},
        },
        "feeds-check-fetches": {  # alert when Kaspi has not fetched the price list for two hours
            "task": "feeds.tasks.check_fetches",
            "schedule": 300.0,
        },
        "alerts-check-jobs": {  # failed or late jobs (kaspisync.registry); the web server watches the worker
            "task": "alerts.tasks.run_checks",
            "schedule": 60.0,
        },
        "alerts-send": {  # what waits in the alert outbox (new alerts also queue a send at once)
            "task": "alerts.tasks.send_alerts",
            "schedule": float(settings.ALERT_SEND_INTERVAL),
        },
        "cards-refresh-classification": {  # Kaspi's categories and the attributes of mapped ones
            "task": "cards.tasks.refresh_classification",
            "schedule": float(settings.CARDS_CLASSIFICATION_INTERVAL),
            "kwargs": {"trigger": "schedule"},
        },
        "cards-refresh-properties": {
            "task": "cards.tasks.refresh_properties",
            "schedule": float(settings.CARDS_PROPERTIES_INTERVAL),
            "kwargs": {"trigger": "schedule"},
        },
        "cards-check-uploads": {
            "task": "cards.tasks.check_uploads",
            "schedule": float(settings.CARDS_CHECK_INTERVAL),
        },
        "orders-remind-waiting": {  # orders still waiting for acceptance after ALERT_ORDER_REMINDER_MINUTES
            "task": "orders.tasks.remind_waiting_orders",
            "schedule": 60.0,
        },
        "orders-daily-summary": {  # at ALERT_DAILY_SUMMARY_AT, Almaty time (CELERY_TIMEZONE)
            "task": "orders.tasks.daily_summary",
            "schedule": crontab(hour=summary_hour, minute=summary_minute),
        },
        "feeds-prune-fetch-log": {  # fetches kept 90 days, wrong-token counts 30
            "task": "feeds.tasks.prune_fetch_log",
            "schedule": 24 * 60 * 60.0,
        },
        "orders-pull": {
            "task": "orders.tasks.pull_orders",
            "schedule": float(settings.ORDERS_PULL_INTERVAL),
            "kwargs": {"trigger": "schedule"},
        },
        "orders-quality-check": {  # the 30-day share of cancelled orders against 3 % and 4 %
            "task": "orders.tasks.check_quality",
            "schedule": float(settings.ORDERS_PULL_INTERVAL),
        },
    }
