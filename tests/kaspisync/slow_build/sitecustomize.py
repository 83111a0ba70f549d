"""Loaded (through PYTHONPATH) only by the worker of the "killed mid-build" test: after writing the
candidate price list, each build waits KASPISYNC_TEST_BUILD_PAUSE seconds before checking and
publishing it, so the test can kill the worker while a build is certainly in progress (a slow
disk would do the same). Nothing else is changed."""

import os
import time

from celery.signals import worker_process_init


@worker_process_init.connect
def _slow_down_the_build(**kwargs):
    from feeds import services

    write = services.write_feed
    pause = float(os.environ.get("KASPISYNC_TEST_BUILD_PAUSE", "60"))

    def write_then_pause(*args, **kwargs):
        result = write(*args, **kwargs)
        time.sleep(pause)
        return result

    services.write_feed = write_then_pause
