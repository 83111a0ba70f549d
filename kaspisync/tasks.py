"""Plumbing tasks (thin: they call kaspisync services)."""

from celery import shared_task

from .heartbeat import record_heartbeat


@shared_task(name="kaspisync.tasks.heartbeat", ignore_result=True, expires=60)
def heartbeat() -> int:
    """Record that a worker is alive; returns the worker's process id."""
    return record_heartbeat().pid
