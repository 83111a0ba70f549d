"""The writer's validator: head + batches of offers + tail, checked by a thread beside the writer."""

import hashlib
import threading
import time

import pytest

from feeds.validation import WriterValidator, validate_bytes, validate_file
from feeds.writer import FeedConfig, Offer, Store, drop_offer_lines, write_feed

from .test_writer import GOOD, _doc

HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<kaspi_catalog xmlns="kaspiShopping" date="2026-11-28 10:00">'
    b"<company>S</company><merchantid>1</merchantid><offers>\n"
)
TAIL = b"</offers></kaspi_catalog>"


def offer(n: int, price: str = "100") -> bytes:
    return GOOD.replace('sku="AS1"', f'sku="AS{n}"').replace(">100<", f">{price}<").encode() + b"\n"


def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.001)


def check(batches, threads, head=HEAD, tail=TAIL) -> tuple[list[str], int]:
    validator = WriterValidator(threads)
    validator.feed(head)
    validator.begin_offers()
    for batch in batches:
        validator.feed(batch)
    validator.end_offers()
    validator.feed(tail)
    return validator.finish(), validator.error_count


@pytest.mark.parametrize("threads", [0, 1, 2])
def test_errors_carry_the_line_of_the_whole_file(threads):
    batches = [b"".join(offer(n) for n in range(start, start + 10)) for start in range(0, 50, 10)]
    assert check(batches, threads) == ([], 0)
    # Offer 23 (line 3 + 23 = 26 of the file: the head takes two lines) and offer 41 are broken.
    batches[2] = batches[2].replace(b'sku="AS23"><model>M</model>', b'sku="AS23"><model> </model>')
    batches[4] = batches[4].replace(b">100<", b">-5<", 2)  # offers 40 and 41
    errors, count = check(batches, threads)
    assert count == 3, errors
    assert len(errors) == 3, errors
    assert [e.split(":")[0] for e in errors] == ["line 26", "line 43", "line 44"]
    assert validate_bytes(HEAD + b"".join(batches) + TAIL)  # the file validated in one piece agrees


@pytest.mark.parametrize("threads", [0, 1])
def test_head_and_tail_are_checked_once(threads):
    head = HEAD.replace(b"<company>S</company>", b"<company></company>")
    errors, count = check([offer(1), offer(2)], threads, head=head)
    assert count == 1
    assert errors[0].startswith("line 2:")
    assert "company" in errors[0]
    errors, _ = check([offer(1)], threads, tail=b"</offers><extra/></kaspi_catalog>")
    assert errors
    assert errors[0].startswith("line 4:")


@pytest.mark.parametrize("threads", [0, 1])
def test_batches_must_be_whole_offers(threads):
    one = offer(1)
    errors, _ = check([one[:40], one[40:]], threads)  # split inside an offer: not accepted
    assert errors
    errors, _ = check([one + b"</offers><offers>\n" + offer(2)], threads)  # no smuggled structure
    assert errors


def test_agrees_with_whole_document_validation_on_bad_offers():
    bad = [
        GOOD.replace("<price>100</price>", "<price>100.50</price>"),
        GOOD.replace('sku="AS1"', 'sku="АС1"'),
        GOOD.replace("<model>M</model><brand>B</brand>", "<brand>B</brand><model>M</model>"),
        GOOD.replace('available="yes"', 'available="maybe"'),
        GOOD,
    ]
    for body in bad:
        whole = bool(validate_bytes(_doc(body)))
        errors, _ = check([body.encode()], 0)
        assert bool(errors) == whole, body


def test_a_validating_thread_that_fails_fails_the_check(monkeypatch):
    """Batches a thread could not check are never taken for valid, and the writer never waits."""
    import feeds.validation as validation

    check = validation._Batches.check

    def broken(self, part, first_line, close=validation.CLOSE):
        if threading.current_thread() is not threading.main_thread():
            raise MemoryError("out of memory")
        return check(self, part, first_line, close)

    monkeypatch.setattr(validation._Batches, "check", broken)
    validator = WriterValidator(1)
    validator.feed(HEAD)
    validator.begin_offers()
    validator.feed(offer(0))
    wait_until(lambda: validator._failures)  # the thread took that batch and failed
    for n in range(1, 20):
        validator.feed(offer(n))
    validator.end_offers()
    validator.feed(TAIL)
    errors = validator.finish()
    assert errors
    assert "stopped unexpectedly (MemoryError: out of memory)" in errors[-1]
    assert validator.error_count == 1
    assert all(not t.name.startswith("feed-validator") for t in threading.enumerate())


class HeldThread:
    """Records every check (by the writer's thread or not, first line, lines) and holds the
    validating thread in its first check until released."""

    def __init__(self, monkeypatch):
        import feeds.validation as validation

        self.calls: list[tuple[bool, int, int]] = []
        self.started, self.release = threading.Event(), threading.Event()
        check = validation._Batches.check

        def recording(batches, part, first_line, close=validation.CLOSE):
            writer = threading.current_thread() is threading.main_thread()
            self.calls.append((writer, first_line, part.count(b"\n")))
            if not writer and not self.started.is_set():
                self.started.set()
                assert self.release.wait(10), "never released"
            return check(batches, part, first_line, close)

        monkeypatch.setattr(validation._Batches, "check", recording)


def test_batches_queue_for_the_thread_and_those_queued_are_checked_as_one(monkeypatch):
    """While the thread is busy, up to QUEUED batches wait for it (the writer checks the next
    ones itself); the thread then checks the waiting ones in one go, and every error still
    carries its line in the whole file."""
    import feeds.validation as validation

    held = HeldThread(monkeypatch)
    validator = WriterValidator(1)
    validator.feed(HEAD)
    validator.begin_offers()
    validator.feed(offer(0))  # line 3
    assert held.started.wait(10)  # the thread is in its first check
    for n in range(1, 8):  # lines 4..10: four wait for the thread, the writer checks three
        validator.feed(offer(n, "-1" if n in (2, 6) else "100"))
    assert validator._waiting.qsize() == validation.QUEUED == 4
    held.release.set()
    wait_until(lambda: validator._waiting.empty())
    validator.feed(offer(8))
    validator.end_offers()
    validator.feed(TAIL)
    errors = validator.finish()
    assert [e.split(":")[0] for e in errors] == ["line 5", "line 9"]
    assert validator.bad_lines == {5, 9}
    by_thread = [(line, lines) for writer, line, lines in held.calls if not writer]
    by_writer = [(line, lines) for writer, line, lines in held.calls if writer]
    assert by_thread[:2] == [(3, 1), (4, 4)], "the four waiting batches were not checked as one"
    assert by_writer[:3] == [(8, 1), (9, 1), (10, 1)]
    checked = sorted({*by_thread, *by_writer} - {(12, 0)})  # minus the tail, checked by the writer
    assert [line for line, _ in checked] == [3, 4, 8, 9, 10, 11], "a batch was checked twice or never"
    assert all(not t.name.startswith("feed-validator") for t in threading.enumerate())


def test_finish_checks_what_still_waits_for_a_busy_thread(monkeypatch):
    """At the end the writer does not wait for a thread that is behind: it checks the batches
    still waiting itself."""
    held = HeldThread(monkeypatch)
    validator = WriterValidator(1)
    validator.feed(HEAD)
    validator.begin_offers()
    validator.feed(offer(0))
    assert held.started.wait(10)
    for n in range(1, 4):
        validator.feed(offer(n, "-1" if n == 3 else "100"))
    validator.end_offers()
    validator.feed(TAIL)
    threading.Timer(0.5, held.release.set).start()  # the thread stays busy while the writer finishes
    errors = validator.finish()
    assert [e.split(":")[0] for e in errors] == ["line 6"]
    assert [(line, lines) for writer, line, lines in held.calls if writer] == [(4, 1), (5, 1), (6, 1), (7, 0)]
    assert all(not t.name.startswith("feed-validator") for t in threading.enumerate())


def test_an_offer_only_the_schema_refuses_is_reported_by_line_and_taken_out(monkeypatch, tmp_path):
    """The writer's own checks mirror the schema; should they ever let through what the schema
    refuses (here: they are told a price may have 13 digits), that offer alone is taken out."""
    monkeypatch.setattr("feeds.writer.BATCH", 3)
    monkeypatch.setattr("feeds.writer.MAX_TENGE", 10**13)
    offers = [Offer(f"AS{i}", f"Товар {i}", "", (1,), 100, i) for i in range(10)]
    offers[7] = offers[7]._replace(price=10**12)  # 13 digits: the schema's tengeType refuses it
    path = tmp_path / "feed.xml"
    with open(path, "wb") as fh:
        result = write_feed(fh, offers, FeedConfig("S", "1", stores=(Store("PP1"),)))
    assert result.valid
    assert list(result.schema_bad_lines) == [10]  # offer 7 is on line 3 + 7
    assert result.schema_bad_lines[10].startswith("line 10: ")
    assert "price" in result.schema_bad_lines[10]
    assert validate_file(path)  # still in the file ...
    drop_offer_lines(str(path), result)
    data = path.read_bytes()
    assert not validate_file(path)
    assert b'sku="AS7"' not in data  # ... and now out of it
    assert (result.offers, result.available_offers, result.dropped_count) == (9, 9, 1)
    assert result.dropped[0]["sku"] == "AS7"
    assert result.dropped[0]["reason"].startswith("line 10:")
    assert "AS7" not in result.snapshot
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.offers_sha256 == hashlib.sha256(data[result.offers_digest_from :]).hexdigest()
