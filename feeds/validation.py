"""Schema validation of the price list, streamed: bytes are checked as they are written.

The XSD (feeds/schema/kaspi.xsd, written by us: the official one cannot be fetched offline) is
loaded once per process from disk, never from the network. `StreamValidator` feeds the bytes to
a libxml2 parser that validates against it without building a tree (a parser target that keeps
nothing), in a thread of its own: libxml2 runs without the GIL, so validation overlaps writing.
"""
import functools
import queue
import threading
from pathlib import Path

from lxml import etree

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "kaspi.xsd"
MAX_ERRORS = 50


@functools.cache
def schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))


class _Discard:
    """A parser target with no start/end/data methods: libxml2 validates, Python sees nothing."""

    def close(self):
        return None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(schema=schema(), target=_Discard(), no_network=True, resolve_entities=False,
                           huge_tree=True)


def _messages(parser, exc=None) -> list[str]:
    errors = [f"line {e.line}: {e.message}" for e in parser.error_log][:MAX_ERRORS]
    if not errors and exc is not None:
        errors = [str(exc)]
    return errors


class StreamValidator:
    """feed(bytes) ... finish() -> list of error messages (empty: valid)."""

    _END = None

    def __init__(self, threaded: bool = True):
        self._parser = _parser()
        self._failed: Exception | None = None
        self._thread = None
        if threaded:
            self._queue: queue.Queue = queue.Queue(maxsize=64)
            self._thread = threading.Thread(target=self._run, name="feed-validator", daemon=True)
            self._thread.start()

    def _feed(self, data: bytes) -> None:
        if self._failed is None:
            try:
                self._parser.feed(data)
            except etree.XMLSyntaxError as exc:
                self._failed = exc

    def _run(self) -> None:
        while (data := self._queue.get()) is not self._END:
            self._feed(data)

    def feed(self, data: bytes) -> None:
        if self._thread is not None:
            self._queue.put(data)
        else:
            self._feed(data)

    def finish(self) -> list[str]:
        if self._thread is not None:
            self._queue.put(self._END)
            self._thread.join()
        if self._failed is None:
            try:
                self._parser.close()
            except etree.XMLSyntaxError as exc:
                self._failed = exc
        return _messages(self._parser, self._failed) if self._failed is not None else []


def validate_file(path, chunk_size: int = 1 << 16) -> list[str]:
    """Validate a written file (used for files written elsewhere, and by tests)."""
    validator = StreamValidator(threaded=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            validator.feed(chunk)
    return validator.finish()


def validate_bytes(data: bytes) -> list[str]:
    validator = StreamValidator(threaded=False)
    validator.feed(data)
    return validator.finish()
