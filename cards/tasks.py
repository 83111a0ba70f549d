"""Celery tasks of the product cards: thin doors that take primitive arguments and call a service."""

import logging

from kaspisync.celery import app
from kaspisync.models import RunTrigger
from kaspisync.secrets import mask

log = logging.getLogger(__name__)
UPLOAD_TIME_LIMIT = 2 * 60 * 60


@app.task(name="cards.tasks.refresh_classification", ignore_result=True, time_limit=30 * 60, soft_time_limit=29 * 60)
def refresh_classification(trigger: str = RunTrigger.SCHEDULE, triggered_by: str = "") -> int:
    from .services.classification import refresh_classification as refresh

    return refresh(trigger=trigger, triggered_by=triggered_by).pk


@app.task(name="cards.tasks.refresh_properties", ignore_result=True, time_limit=60 * 60, soft_time_limit=59 * 60)
def refresh_properties(category_ids=None, trigger: str = RunTrigger.SCHEDULE, triggered_by: str = "") -> int:
    from .services.properties import refresh_properties as refresh

    return refresh(category_ids, trigger=trigger, triggered_by=triggered_by).pk


@app.task(name="cards.tasks.refresh_readiness", ignore_result=True, time_limit=15 * 60, soft_time_limit=14 * 60)
def refresh_readiness(product_ids=None) -> dict:
    from .services.readiness import refresh_readiness as refresh

    return refresh(product_ids)


@app.task(
    name="cards.tasks.upload_cards",
    ignore_result=True,
    time_limit=UPLOAD_TIME_LIMIT,
    soft_time_limit=UPLOAD_TIME_LIMIT - 60,
)
def upload_cards(product_ids=None, resend: bool = False, user_id=None, triggered_by: str = "") -> int | None:
    """Upload from the admin (the run row says what happened, also when it failed)."""
    from django.contrib.auth import get_user_model

    from .services.upload import UploadFailed
    from .services.upload import upload_cards as upload

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        return upload(
            product_ids=product_ids, resend=resend, trigger=RunTrigger.ADMIN, triggered_by=triggered_by, user=user
        ).pk
    except UploadFailed as exc:
        log.warning("card upload failed: %s", mask(exc))
        return None


@app.task(name="cards.tasks.check_uploads", ignore_result=True, time_limit=30 * 60, soft_time_limit=29 * 60)
def check_uploads() -> int | None:
    """Look up uploads Kaspi had not finished when their run stopped waiting."""
    from .services.upload import check_pending

    return check_pending()
