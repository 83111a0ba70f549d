"""Schema validation of the price list.

The XSD (feeds/schema/kaspi.xsd, written by us: the official one cannot be fetched offline) is
loaded once per process from disk, never from the network. Two ways to check against it:

- `validate_bytes` / `validate_file`: any document, streamed through a validating push parser;
  memory stays flat whatever the size (about 0.3 s of CPU per 50,000 offers).
- `WriterValidator`: the writer's own output, checked while it is written, by a thread. The
  writer hands the document over as its head (up to and including the `<offers>` start tag),
  batches of whole offers, and its tail. The schema has no identity constraints and `offers`
  holds `offer*`, so the document is valid exactly when head + tail is and every head + batch +
  `</offers></kaspi_catalog>` is. Each batch is parsed into a small tree and checked with
  `XMLSchema.validate`; lxml lets go of the GIL in both (parsing bytes, validating a tree), so the
  validating thread runs on another core while the writer writes the next batch. Up to QUEUED
  batches wait for the thread, which checks those that queued up meanwhile as one part (it takes
  the GIL back after each lxml call, so fewer, larger checks keep it from falling behind); when
  it is that far behind, the writer checks the next batch itself, and at the end it checks what
  still waits, so the two share the work whatever their speeds (on a busy machine, no worse than
  checking after writing). Reported line
  numbers are those of the whole file, and every line with an error is reported (`bad_lines`),
  so the writer can leave those offers out.

Measured at 50,000 offers (bench/bench_feed.py --designs prints both): writing then one validating
pass over the file costs about 0.3 s of CPU for each, one after the other; the thread overlaps
them. The validating processes this replaces (started once per process, fed through pipes)
overlapped them too, at the cost of a pipe protocol, a process pool and some 20 MB a process.
"""

import functools
import os
import queue
import threading
import time
from pathlib import Path

from lxml import etree

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "kaspi.xsd"
MAX_ERRORS = 50
NS = "kaspiShopping"
CLOSE = b"</offers></kaspi_catalog>"  # closes what the head opens, after a batch of offers
QUEUED = 4  # batches that may wait for a validating thread before the writer checks one itself


@functools.cache
def _schema_document():
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.parse(str(SCHEMA_PATH), parser)


@functools.cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(_schema_document())


# --- any document, streamed -------------------------------------------------------------------
class _Check:
    """One validating parse of a whole document fed in chunks; memory stays flat."""

    def __init__(self):
        # lxml skips schema validation in parsers with a Python target, so this one builds a
        # tree, reports the start of <offers> once, and feed() drops finished offers as it goes.
        # (No resolve_entities=False: with it lxml 6 lets a truncated document through close().)
        self.parser = etree.XMLPullParser(
            events=("start",), tag=f"{{{NS}}}offers", schema=schema(), no_network=True, huge_tree=True
        )
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


def validate_file(path, chunk_size: int = 1 << 16) -> list[str]:
    """Validate a document on disk (files written elsewhere, tests)."""
    check = _Check()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            check.feed(chunk)
    return check.finish()


def validate_bytes(data: bytes) -> list[str]:
    check = _Check()
    check.feed(data)
    return check.finish()


# --- the writer's output, in batches ----------------------------------------------------------
class _Batches:
    """Checks documents made of the head and a part of the file; keeps (line in the file,
    message) for the first MAX_ERRORS errors and counts them all."""

    def __init__(self, head: bytes, *, own_schema: bool = False):
        """`own_schema`: a schema object of its own (one validating at the same time as another
        thread: the error log is the schema object's). The parser is this thread's own."""
        self.head = head
        self.head_lines = head.count(b"\n")  # a part starts on line head_lines + 1
        self.parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True, collect_ids=False)
        self.schema = etree.XMLSchema(_schema_document()) if own_schema else schema()
        self.errors: list[tuple[int, str]] = []
        self.error_count = 0
        self.bad_lines: set[int] = set()  # every line with an error (the first MAX_ERRORS are described)
        self.batches = 0  # parts checked

    def check(self, part: bytes, first_line: int, close: bytes = CLOSE) -> None:
        """`part` starts on line `first_line` of the file; the head's own errors are left to
        the check of head + tail (close=b""), which reports them."""
        self.batches += 1
        try:
            tree = etree.fromstring(self.head + part + close, self.parser)
        except etree.XMLSyntaxError as exc:
            log = exc.error_log
        else:
            if self.schema.validate(tree):
                return
            log = self.schema.error_log
        shift = first_line - self.head_lines - 1
        for entry in log:
            if entry.line > self.head_lines:
                line = entry.line + shift
            elif not close:
                line = entry.line
            else:
                continue
            self.error_count += 1
            self.bad_lines.add(line)
            if len(self.errors) < MAX_ERRORS:
                self.errors.append((line, entry.message))


def _joined(batches: list[tuple[bytes, int, int]]) -> list[tuple[bytes, int]]:
    """(part, first line) of each run of batches (part, first line, line after it) that follow one
    another in the file, joined."""
    runs: list[list] = []
    for part, line, next_line in batches:
        if runs and runs[-1][2] == line:
            runs[-1][0].append(part)
            runs[-1][2] = next_line
        else:
            runs.append([[part], line, next_line])
    return [(b"".join(parts), line) for parts, line, _next in runs]


class WriterValidator:
    """feed(head...), begin_offers(), feed(batch of whole offers)..., end_offers(), feed(tail...),
    finish() -> error messages (empty: valid); then `error_count` (all errors), `bad_lines` (every
    line with an error), `head_lines` (lines up to the <offers> start tag) and `tail_line` (the
    first line of the tail) say where they are.

    `threads`: validating threads beside the writer (default: one when this process may use more
    than one core; 0: every batch checked in the writer's thread). `thread_cpu_seconds`: their CPU
    time (for the benchmark)."""

    def __init__(self, threads: int | None = None):
        if threads is None:
            threads = 1 if len(os.sched_getaffinity(0)) > 1 else 0
        self.error_count = 0  # all schema errors; finish() lists the first MAX_ERRORS
        self.bad_lines: set[int] = set()
        self.head_lines = 0
        self.tail_line = 0
        self.thread_cpu_seconds = 0.0
        self._parts: dict[str, list[bytes]] = {"head": [], "tail": []}
        self._phase = "head"
        self._line = 1  # line of the file the next byte fed starts on
        self._local: _Batches | None = None
        self._count = threads
        self._waiting: queue.Queue = queue.Queue(maxsize=QUEUED * threads)
        self._threads: list[threading.Thread] = []
        self._checks: list[_Batches] = []  # the threads' own
        self._failures: list[str] = []  # threads that stopped checking (never silently passed)

    def feed(self, data: bytes) -> None:
        if not data:
            return
        line, self._line = self._line, self._line + data.count(b"\n")
        if self._phase != "offers":
            self._parts[self._phase].append(data)
        elif not self._threads:
            self._local.check(data, line)
        else:
            try:
                self._waiting.put_nowait((data, line, self._line))
            except queue.Full:  # the threads are QUEUED batches behind: this one is checked here
                self._local.check(data, line)

    def begin_offers(self) -> None:
        """Everything fed so far was the head; from now on every feed() is a batch of offers."""
        head = b"".join(self._parts["head"])
        self._local = _Batches(head)
        self.head_lines = self._local.head_lines
        for number in range(self._count):
            thread = threading.Thread(
                target=self._check_batches, args=(head,), name=f"feed-validator-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        self._phase = "offers"

    def _check_batches(self, head: bytes) -> None:
        """A validating thread: batches from the queue until None."""
        started = time.thread_time()
        done = False
        try:
            check = _Batches(head, own_schema=True)
            self._checks.append(check)
            while not done:
                batches = [self._waiting.get()]  # and those queued behind it: fewer, larger checks
                while batches[-1] is not None and len(batches) < QUEUED:
                    try:
                        batches.append(self._waiting.get_nowait())
                    except queue.Empty:
                        break
                if batches[-1] is None:  # the writer is done (one None per thread: never take two)
                    done = True
                    batches.pop()
                for part, line in _joined(batches):
                    check.check(part, line)
        except BaseException as exc:
            self._failures.append(f"{type(exc).__name__}: {exc}"[:300])
            while not done and self._waiting.get() is not None:  # the writer never waits for a thread that stopped
                pass
        finally:
            self.thread_cpu_seconds += time.thread_time() - started

    def end_offers(self) -> None:
        """Everything fed from now on is the tail."""
        self._phase, self.tail_line = "tail", self._line

    def finish(self) -> list[str]:
        """Checks what still waits for the threads, then waits for them; the first MAX_ERRORS
        errors by line."""
        while self._threads:
            try:
                part, line, _end = self._waiting.get_nowait()
            except queue.Empty:
                break
            self._local.check(part, line)
        for _thread in self._threads:
            self._waiting.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []
        if self._local is None:  # the offers never began: check what there is, as it is
            messages = validate_bytes(b"".join(self._parts["head"]))
            self.error_count = len(messages)
            return messages
        self._local.check(b"".join(self._parts["tail"]), self.tail_line, close=b"")
        errors: list[tuple[int, str]] = []
        for check in (*self._checks, self._local):
            errors += check.errors
            self.error_count += check.error_count
            self.bad_lines.update(check.bad_lines)
        messages = [f"line {line}: {message}" for line, message in sorted(errors)[:MAX_ERRORS]]
        for reason in self._failures:
            messages.append(f"a validating thread stopped unexpectedly ({reason})")
            self.error_count += 1
        return messages

    def offer_lines_with_errors(self) -> set[int]:
        """Lines of offers (between the head and the tail) that failed the schema."""
        return {line for line in self.bad_lines if self.head_lines < line < self.tail_line}
