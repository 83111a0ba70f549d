"""Room on CPython's frame stack for each web request (a workaround for CPython gh-142183).

Since Python 3.11 the interpreter keeps Python frames on a stack of memory chunks (16 KiB first).
A call that does not fit in the current chunk maps a new one, and returning from it unmaps that
chunk again, with no spare kept (CPython 3.11 and 3.12; later 3.13 and 3.14 releases keep one). A loop that
calls a function exactly at a chunk's end therefore costs an mmap + munmap and a fresh page fault
per call. Gunicorn's sync worker happened to put the admin product list's per-cell rendering
there: about 9,000 mmap/munmap pairs per page of 100 rows, 110-125 ms of CPU per request instead
of 55 (half of it system time), where the test client and runserver, at other depths, never hit it.

`with_stack_room(app)` runs each request inside one frame of ROOM_WORDS unused local slots: it
never fits the chunk it is called from, so the interpreter maps a chunk of twice that size for
it once per request (one mmap + munmap), and the whole request, template rendering included,
runs in the other half, far from any chunk boundary (the slots are never written, only cleared).
"""

ROOM_WORDS = 8192  # 64 KiB of frame: a 128 KiB chunk, with ~60 KiB left for the request's frames


def _roomy_caller():
    """A function calling `app(environ, start_response)` whose frame holds ROOM_WORDS locals.
    The assignment is never run (`if False`), but it makes each name a local of the function."""
    names = " = ".join(f"_{i}" for i in range(ROOM_WORDS))
    source = (
        "def call(app, environ, start_response):\n"
        "    if False:\n"
        f"        {names} = None\n"
        "    return app(environ, start_response)\n"
    )
    namespace: dict = {}
    exec(compile(source, __file__, "exec"), namespace)  # noqa: S102 - fixed source, built above
    return namespace["call"]


_call = _roomy_caller()


def with_stack_room(app):
    """The WSGI application `app`, each request called from a frame with room after it."""

    def application(environ, start_response):
        return _call(app, environ, start_response)

    return application
