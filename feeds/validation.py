"""Schema validation of the price list.

The XSD (feeds/schema/kaspi.xsd, written by us: the official one cannot be fetched offline) is
loaded once per process from disk, never from the network. Two ways to check against it:

- `validate_bytes` / `validate_file`: any document, streamed through a validating push parser;
  memory stays flat whatever the size (about 0.5 s per 50,000 offers, on one core).
- `WriterValidator`: the writer's own output, checked while it is written, on the other cores.
  The writer hands the document over as its head (up to and including the `<offers>` start tag),
  batches of whole offers, and its tail. The schema has no identity constraints and `offers`
  holds `offer*`, so the document is valid exactly when head + tail is and every head + batch +
  `</offers></kaspi_catalog>` is. Each batch is parsed into a small tree and checked with
  `XMLSchema.validate` (libxml2 validates a tree about 1.5x faster than it validates while
  parsing) in validating processes, so validating overlaps writing on another core. Threads
  cannot do it: lxml holds the GIL while it parses, so a writing thread and a validating thread
  take turns (measured: no faster than one thread). When every validating process already has
  a whole batch waiting, the writer's process checks the next one itself, so the two share the
  work whatever their speeds. Reported line numbers are those of the whole file, and every line
  with an error is reported (`bad_lines`), so the writer can leave those offers out.

Why processes and not one validating pass over the written file: that pass costs about as much
CPU as writing (parsing 15 MB), one after the other; on two cores the build then takes about
twice as long (bench/bench_feed.py prints both). The validating processes are started once per
Python process and reused by every build after the first (`_POOL`), because starting a fresh
interpreter with lxml inside each build made its time vary with the machine's load.
"""

import atexit
import contextlib
import fcntl
import functools
import json
import os
import resource
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from lxml import etree

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "kaspi.xsd"
MAX_ERRORS = 50
NS = "kaspiShopping"
CLOSE = b"</offers></kaspi_catalog>"  # closes what the head opens, after a batch of offers
MAX_WORKERS = 4
PIPE_SIZE = 1 << 20  # room for a few batches per worker: sending never waits for it
_FRAME = struct.Struct("!II")  # first line of the batch in the file, its size
END_OF_DOCUMENT = 0xFFFFFFFF  # a frame with this first line (and no bytes): report, then wait for the next document
REPORT_TIMEOUT = 120.0  # seconds a validating process may take to report a document's last batches


@functools.cache
def schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))


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

    def __init__(self, head: bytes):
        self.head = head
        self.head_lines = head.count(b"\n")  # a part starts on line head_lines + 1
        self.parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True, collect_ids=False)
        self.schema = schema()
        self.errors: list[tuple[int, str]] = []
        self.error_count = 0
        self.bad_lines: set[int] = set()  # every line with an error (the first MAX_ERRORS are described)

    def check(self, part: bytes, first_line: int, close: bytes = CLOSE) -> None:
        """`part` starts on line `first_line` of the file; the head's own errors are left to
        the check of head + tail (close=b""), which reports them."""
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


class WriterValidator:
    """feed(head...), begin_offers(), feed(batch of whole offers)..., end_offers(), feed(tail...),
    finish() -> error messages (empty: valid); then `error_count` (all errors), `bad_lines` (every
    line with an error), `head_lines` (lines up to the <offers> start tag) and `tail_line` (the
    first line of the tail) say where they are.

    Each batch goes to the least busy of `workers` validating processes (default: one per core but
    the one the writer keeps, at most MAX_WORKERS; 0: all checked here, in this process). They are
    this process's pooled ones (`_POOL`), started afresh on first use (`python validation.py`,
    lxml only, about 20 MB), not forked: they share no memory, locks or connections with the
    writer. A validator that finds the pool in use (two builds at once in one process) starts
    private ones, stopped when it finishes.
    """

    def __init__(self, workers: int | None = None):
        if workers is None:
            workers = min(max(len(os.sched_getaffinity(0)) - 1, 1), MAX_WORKERS)
        self.error_count = 0  # all schema errors; finish() lists the first MAX_ERRORS
        self.bad_lines: set[int] = set()
        self.head_lines = 0
        self.tail_line = 0
        self._parts: dict[str, list[bytes]] = {"head": [], "tail": []}
        self._phase = "head"
        self._line = 1  # line of the file the next byte fed starts on
        self._local: _Batches | None = None
        self._workers, self._pooled = _POOL.take(workers) if workers else ([], False)
        self.worker_cpu_seconds = 0.0  # summed over the workers (for the benchmark)
        self.worker_max_rss_kb = 0  # the largest worker's peak RSS: all of it memory of its own

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self._phase != "offers":
            self._parts[self._phase].append(data)
        else:
            waiting, worker = min(
                ((_backlog(w), w) for w in self._workers), key=lambda pair: pair[0], default=(None, None)
            )
            if worker is not None and waiting < len(data):
                _send(worker, self._line, data)
            else:  # every worker has a whole batch waiting: this process checks this one
                self._local.check(data, self._line)
        self._line += data.count(b"\n")

    def begin_offers(self) -> None:
        """Everything fed so far was the head; from now on every feed() is a batch of offers."""
        head = b"".join(self._parts["head"])
        self._local = _Batches(head)
        self.head_lines = self._local.head_lines
        for worker in self._workers:
            _send(worker, 0, head)
        self._phase = "offers"

    def end_offers(self) -> None:
        """Everything fed from now on is the tail."""
        self._phase, self.tail_line = "tail", self._line

    def finish(self) -> list[str]:
        """Waits for the workers' reports; the first MAX_ERRORS errors by line."""
        errors, crashed = [], []
        for worker in self._workers:
            report = _report(worker)
            if isinstance(report, str):
                crashed.append(report)
                continue
            errors += [tuple(e) for e in report["errors"]]
            self.error_count += report["error_count"]
            self.bad_lines.update(report["bad_lines"])
            self.worker_cpu_seconds += report["cpu"]
            self.worker_max_rss_kb = max(self.worker_max_rss_kb, report["max_rss_kb"])
        _POOL.give_back(self._workers, self._pooled)
        self._workers = []
        if self._local is None:  # the offers never began: check what there is, as it is
            messages = validate_bytes(b"".join(self._parts["head"]))
            self.error_count = len(messages)
            return messages
        self._local.check(b"".join(self._parts["tail"]), self.tail_line, close=b"")
        errors += self._local.errors
        self.error_count += self._local.error_count
        self.bad_lines.update(self._local.bad_lines)
        messages = [f"line {line}: {message}" for line, message in sorted(errors)[:MAX_ERRORS]]
        for reason in crashed:
            messages.append(f"a validating process stopped unexpectedly ({reason})")
            self.error_count += 1
        return messages

    def offer_lines_with_errors(self) -> set[int]:
        """Lines of offers (between the head and the tail) that failed the schema."""
        return {line for line in self.bad_lines if self.head_lines < line < self.tail_line}


class _Pool:
    """This process's validating processes, kept between builds (a process that forked takes none
    of its parent's)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[subprocess.Popen] = []
        self._busy = False
        self._pid = os.getpid()

    def take(self, count: int) -> tuple[list[subprocess.Popen], bool]:
        """`count` live workers, and whether they are the pool's (else private ones)."""
        with self._lock:
            if self._pid != os.getpid():  # inherited through fork: the parent's, not ours
                self._idle, self._busy, self._pid = [], False, os.getpid()
            if self._busy:
                return [_start_worker() for _ in range(count)], False
            self._busy = True
            alive = [w for w in self._idle if w.poll() is None]
            for worker in self._idle:
                if worker not in alive:
                    _stop(worker)
            self._idle = []
        while len(alive) < count:
            alive.append(_start_worker())
        for worker in alive[count:]:
            _stop(worker)
        return alive[:count], True

    def give_back(self, workers: list[subprocess.Popen], pooled: bool) -> None:
        healthy = [w for w in workers if w.poll() is None]
        if not pooled:
            for worker in workers:
                _stop(worker)
            return
        with self._lock:
            if self._pid == os.getpid():
                self._idle, self._busy = healthy, False

    def stop_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            _stop(worker)


_POOL = _Pool()
atexit.register(_POOL.stop_all)


def _start_worker() -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "-I", __file__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        close_fds=True,
    )
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or above /proc/sys/fs/pipe-max-size
        fcntl.fcntl(worker.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    return worker


def _stop(worker: subprocess.Popen) -> None:
    """End of input: the worker exits; killed if it does not within a second."""
    with contextlib.suppress(OSError):
        worker.stdin.close()
    try:
        worker.wait(timeout=1)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    for stream in (worker.stdout, worker.stderr):
        with contextlib.suppress(OSError):
            stream.close()


def _send(worker: subprocess.Popen, first_line: int, data: bytes) -> None:
    try:
        _write_all(worker.stdin.fileno(), _FRAME.pack(first_line, len(data)))
        if data:
            _write_all(worker.stdin.fileno(), data)
    except (BrokenPipeError, ValueError):  # the worker died (its pipe is closed): _report says so
        pass


def _report(worker: subprocess.Popen) -> dict | str:
    """The worker's report on the document it was sent, or why there is none (it is then stopped)."""
    _send(worker, END_OF_DOCUMENT, b"")
    line = _read_line(worker.stdout.fileno(), REPORT_TIMEOUT)
    try:
        return json.loads(line)
    except ValueError:
        pass
    if worker.poll() is None:  # alive but silent: stuck
        _stop(worker)
        return f"no report within {REPORT_TIMEOUT:.0f} s"
    last_words = worker.stderr.read().decode(errors="replace").strip().splitlines()
    _stop(worker)
    return last_words[-1] if last_words else f"exit status {worker.returncode}"


def _read_line(fd: int, timeout: float) -> bytes:
    """Bytes up to a newline (the worker writes nothing else), b"" on end of file or timeout."""
    parts, deadline = [], time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return b""
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b""
        parts.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(parts)


def _backlog(worker: subprocess.Popen) -> int:
    """Bytes sent to the worker that it has not read yet."""
    try:
        return struct.unpack("i", fcntl.ioctl(worker.stdin.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
    except (OSError, ValueError):
        return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _peak_rss_kb() -> int:
    """This process's peak RSS (ru_maxrss would count the parent's, from before the exec)."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


def _read_frames(fh):
    """(first line, bytes) frames from a worker's input, until it ends."""
    while len(frame := fh.read(_FRAME.size)) == _FRAME.size:
        first_line, size = _FRAME.unpack(frame)
        yield first_line, fh.read(size) if size else b""


def _worker_main() -> None:  # pragma: no cover - runs in a worker process
    """Documents one after another: the first frame of each is its head, every next one a batch,
    and END_OF_DOCUMENT asks for the report (one line of JSON on stdout)."""
    out = sys.stdout.buffer
    check, cpu_before = None, 0.0
    for first_line, data in _read_frames(sys.stdin.buffer):
        if first_line == END_OF_DOCUMENT:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime
            report = {
                "errors": check.errors if check else [],
                "error_count": check.error_count if check else 0,
                "bad_lines": sorted(check.bad_lines) if check else [],
                "cpu": cpu - cpu_before,
                "max_rss_kb": _peak_rss_kb(),
            }
            out.write(json.dumps(report).encode() + b"\n")
            out.flush()
            check, cpu_before = None, cpu
        elif check is None:
            check = _Batches(data)
        else:
            check.check(data, first_line)


if __name__ == "__main__":
    _worker_main()
