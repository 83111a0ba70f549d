"""Minimum interval between two requests for one key, across threads, processes and machines.

Al-Style allows one request every 5 seconds per token. Each caller reserves the next free slot
in a database row (the row update is serialised by the database), timed by the database's clock,
then sleeps until its slot.
The key is a hash of the token: the token itself is never stored.
"""

import hashlib
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from .models import RateSlot


def key_for(secret: str, namespace: str) -> str:
    return hashlib.sha256(f"{namespace}:{secret}".encode()).hexdigest()


def database_now():
    """The database server's clock where it has one: workers on several machines then agree on
    the slots whatever their own clocks say. SQLite (one machine) uses this machine's clock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def reserve_slot(key: str, interval: float) -> float:
    """Reserve the next slot for `key`; return the seconds until it starts."""
    with transaction.atomic():
        # The UPDATE takes the write lock (SQLite) / row lock (PostgreSQL) before we read.
        now = database_now()
        RateSlot.objects.get_or_create(key=key, defaults={"next_at": now})
        slot = RateSlot.objects.select_for_update().get(key=key)
        now = database_now()
        start = max(slot.next_at, now)
        slot.next_at = start + timedelta(seconds=interval)
        slot.save(update_fields=["next_at"])
    return (start - now).total_seconds()


def wait_turn(key: str, interval: float, sleep=time.sleep) -> float:
    """Block until this caller may send its request; return the seconds waited."""
    if interval <= 0:
        return 0.0
    delay = reserve_slot(key, interval)
    if delay > 0:
        sleep(delay)
        return delay
    return 0.0
