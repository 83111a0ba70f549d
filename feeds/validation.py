"""Schema validation of the price list, streamed: bytes are checked as they are written.

The XSD (feeds/schema/kaspi.xsd, written by us: the official one cannot be fetched offline) is
loaded once per process from disk, never from the network. `StreamValidator` feeds the bytes to
a validating libxml2 push parser (in a forked child process, so validating overlaps writing)
that drops the offers it has validated, so memory stays flat.
"""
import functools
import gc
import json
import os
from pathlib import Path

from lxml import etree

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "kaspi.xsd"
MAX_ERRORS = 50


@functools.cache
def schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))


NS = "kaspiShopping"


def _parser() -> etree.XMLPullParser:
    # lxml skips schema validation in parsers with a Python target, so this one builds a tree,
    # reports the start of <offers> once, and _Check drops finished offers as it goes.
    # (No resolve_entities=False: with it lxml 6 lets a truncated document through close().)
    return etree.XMLPullParser(events=("start",), tag=f"{{{NS}}}offers", schema=schema(), no_network=True,
                               huge_tree=True)


class _Check:
    """One validating parse; lives and dies in one thread (lxml parsers and trees are per thread)."""

    def __init__(self):
        self.parser = _parser()
        self.offers = None
        self.failed: etree.XMLSyntaxError | None = None

    def feed(self, data: bytes) -> None:
        if self.failed is not None:
            return
        try:
            self.parser.feed(data)
        except etree.XMLSyntaxError as exc:
            self.failed = exc
            return
        if self.offers is None:
            for _event, element in self.parser.read_events():
                self.offers = element
        elif len(self.offers) > 1:
            del self.offers[:-1]  # validated and done with; the last one may still be open

    def finish(self) -> list[str]:
        if self.failed is None:
            try:
                self.parser.close()
            except etree.XMLSyntaxError as exc:
                self.failed = exc
        errors = []
        if self.failed is not None:
            errors = [f"line {e.line}: {e.message}" for e in self.parser.error_log][:MAX_ERRORS]
            errors = errors or [str(self.failed)]
        self.parser = self.offers = self.failed = None
        return errors


class StreamValidator:
    """feed(bytes) ... finish() -> list of error messages (empty: valid).

    parallel=True (where the OS can fork): the checking runs in a forked child process fed
    through a pipe, so it uses the second core while the writer keeps the first (lxml holds the
    GIL while parsing pushed chunks, so a thread would not overlap). The child only parses and
    reports; it leaves with os._exit, touching nothing it inherited (database connections...).
    """

    child_max_rss_kb = 0  # peak memory and CPU time of the validating child (for the benchmark)
    child_cpu_seconds = 0.0
    child_private_kb = 0  # memory the child did not share with its parent, at its end

    def __init__(self, parallel: bool = True):
        self._pid = None
        if parallel and hasattr(os, "fork"):
            schema()  # loaded before forking: the child inherits it
            read_data, self._write_data = os.pipe()
            self._read_result, write_result = os.pipe()
            self._pid = os.fork()
            if self._pid == 0:  # pragma: no cover - the child process
                os.close(self._write_data)
                os.close(self._read_result)
                _child(read_data, write_result)
            os.close(read_data)
            os.close(write_result)
            self._out = os.fdopen(self._write_data, "wb", buffering=0)
        else:
            self._check = _Check()

    def feed(self, data: bytes) -> None:
        if self._pid is None:
            self._check.feed(data)
            return
        try:
            self._out.write(data)
        except BrokenPipeError:  # the child died: finish() reports it
            pass

    def finish(self) -> list[str]:
        if self._pid is None:
            return self._check.finish()
        self._out.close()
        with os.fdopen(self._read_result, "rb") as fh:
            payload = fh.read()
        _pid, _status, usage = os.wait4(self._pid, 0)
        self.child_max_rss_kb = usage.ru_maxrss
        self.child_cpu_seconds = usage.ru_utime + usage.ru_stime
        try:
            report = json.loads(payload)
        except ValueError:
            return ["the validating process stopped unexpectedly"]
        self.child_private_kb = report["private_kb"]
        return report["errors"]


def _private_memory_kb() -> int:
    try:
        with open("/proc/self/smaps_rollup") as fh:
            return sum(int(line.split()[1]) for line in fh if line.startswith(("Private_Clean", "Private_Dirty")))
    except OSError:
        return 0


def _child(read_data: int, write_result: int) -> None:  # pragma: no cover - runs in the child
    # Leave the inherited heap alone: a garbage collection here would walk (and so copy, page
    # by page) every object of the parent.
    gc.freeze()
    status = 1
    try:
        check = _Check()
        with os.fdopen(read_data, "rb") as fh:
            while chunk := fh.read(1 << 17):
                check.feed(chunk)
        errors = check.finish()
        os.write(write_result, json.dumps({"errors": errors, "private_kb": _private_memory_kb()}).encode())
        status = 0
    finally:
        os._exit(status)


def validate_file(path, chunk_size: int = 1 << 16) -> list[str]:
    """Validate a written file (used for files written elsewhere, and by tests)."""
    validator = StreamValidator(parallel=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            validator.feed(chunk)
    return validator.finish()


def validate_bytes(data: bytes) -> list[str]:
    validator = StreamValidator(parallel=False)
    validator.feed(data)
    return validator.finish()
