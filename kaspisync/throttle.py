"""Minimum interval between two requests for one key, across threads, processes and machines.

Al-Style allows one request every 5 seconds per token. Each caller reserves the next free slot
in a database row (the row update is serialised by the database), then sleeps until its slot.
The key is a hash of the token: the token itself is never stored.
"""
import hashlib
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import RateSlot


def key_for(secret: str, namespace: str) -> str:
    return hashlib.sha256(f"{namespace}:{secret}".encode()).hexdigest()


def reserve_slot(key: str, interval: float):
    """Reserve the next slot for `key` and return the aware datetime at which it starts."""
    now = timezone.now()
    with transaction.atomic():
        # The UPDATE takes the write lock (SQLite) / row lock (PostgreSQL) before we read.
        RateSlot.objects.get_or_create(key=key, defaults={"next_at": now})
        slot = RateSlot.objects.select_for_update().get(key=key)
        start = max(slot.next_at, now)
        slot.next_at = start + timedelta(seconds=interval)
        slot.save(update_fields=["next_at"])
    return start


def wait_turn(key: str, interval: float, sleep=time.sleep) -> float:
    """Block until this caller may send its request; return the seconds waited."""
    if interval <= 0:
        return 0.0
    start = reserve_slot(key, interval)
    delay = (start - timezone.now()).total_seconds()
    if delay > 0:
        sleep(delay)
        return delay
    return 0.0
