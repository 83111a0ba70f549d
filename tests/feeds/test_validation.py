"""The writer's validator: head + batches of offers + tail, checked by a thread beside the writer."""

import hashlib
import threading

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
    for n in range(20):
        validator.feed(offer(n))
    validator.end_offers()
    validator.feed(TAIL)
    errors = validator.finish()
    assert errors
    assert "stopped unexpectedly (MemoryError: out of memory)" in errors[-1]
    assert validator.error_count == 1
    assert all(not t.name.startswith("feed-validator") for t in threading.enumerate())


def test_the_thread_checks_batches_beside_the_writer():
    """With a thread, some batches are checked by it (not all by the writer), and the writer's
    thread leaves none behind; an error found by either one is reported by line."""
    validator = WriterValidator(1)
    validator.feed(HEAD)
    validator.begin_offers()
    for n in range(200):
        validator.feed(offer(n, "-1" if n == 150 else "100"))
    validator.end_offers()
    validator.feed(TAIL)
    errors = validator.finish()
    assert [e.split(":")[0] for e in errors] == ["line 153"]
    assert validator.bad_lines == {153}
    assert validator.offer_lines_with_errors() == {153}
    (thread_check,) = validator._checks
    assert thread_check.batches > 0, "the thread checked no batch"
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
