"""Uploads over sockets against the content sandbox: batches, polling, per-SKU results, no
resend of created cards, a lost answer looked up instead of resent, a wrong token."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from cards.models import (
    BatchStatus,
    CardOutcome,
    CardStatus,
    KaspiAttributeValue,
    Outcome,
    ProductCard,
    UploadRun,
    UploadState,
)
from cards.reasons import describe_all
from cards.services.readiness import refresh_readiness
from cards.services.upload import UploadFailed, check_pending, upload_cards
from catalog.sku import merchant_sku
from feeds.selectors import sku_prefix

from .conftest import NB, notebook_properties, set_properties

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(mapped, catalog):
    """`ready(n, start=21000, **properties)` -> products of the mapped category with properties."""

    def make(n, start=21000, **overrides):
        products = []
        for article in range(start, start + n):
            product = catalog["product"](article)
            set_properties(product, notebook_properties(**overrides))
            products.append(product)
        return products

    return make


def post_count(sandbox) -> int:
    return sandbox.request_count("/import", "POST")


def test_upload_waits_for_kaspi_and_stores_each_skus_outcome(mapped, ready):
    good = ready(3)
    bad = ready(1, start=21100)[0]
    # a value the sandbox's moderation refuses although our checks pass: a string where Kaspi wants a number
    mapped.categories["Master - Notebooks"]["attributes"][2]["type"] = "boolean"  # ram now "boolean" at Kaspi
    mapped.categories["Master - Notebooks"]["attributes"][2]["mandatory"] = False
    run = upload_cards()
    assert run.status == "success", run.error
    assert (run.sent, run.created, run.errors, run.unknown) == (4, 0, 4, 0)
    mapped.categories["Master - Notebooks"]["attributes"][2]["type"] = "number"
    for product in [*good, bad]:
        outcome = CardOutcome.objects.get(product=product)
        assert outcome.outcome == Outcome.ERROR
        assert "must be true or false" in outcome.message
    batch = run.batches.get()
    assert batch.status == BatchStatus.FINISHED
    assert batch.import_code
    assert batch.summary == {"errors": 4, "warnings": 0, "skipped": 0, "total": 4}
    assert mapped.request_count("/import", "GET") >= 1
    assert mapped.request_count("/import/result") == 1


def test_created_cards_are_never_sent_again_unless_asked(mapped, ready):
    products = ready(3)
    first = upload_cards()
    assert (first.sent, first.created, first.errors) == (3, 3, 0)
    assert set(ProductCard.objects.values_list("status", flat=True)) == {CardStatus.CREATED}
    assert set(mapped.cards) == {merchant_sku(p.article, sku_prefix()) for p in products}
    second = upload_cards()
    assert second.sent == 0
    assert post_count(mapped) == 1
    third = upload_cards(articles=[products[0].article], resend=True)
    assert (third.sent, third.created) == (1, 1)
    assert post_count(mapped) == 2


def test_a_refused_card_is_resent_after_its_data_changes_and_not_before(mapped, ready):
    (product,) = ready(1)
    mapped.categories["Master - Notebooks"]["attributes"][1]["values"] = [
        {"code": "Intel Core i7", "name": "Intel Core i7"}
    ]
    run = upload_cards()
    assert run.errors == 1
    card = ProductCard.objects.get(product=product)
    assert card.status == CardStatus.ERROR
    assert "not allowed" in card.message
    assert upload_cards().sent == 0  # unchanged: not resent
    set_properties(product, notebook_properties(**{"Процессор": "Intel Core i7"}))
    refresh_readiness()
    assert ProductCard.objects.get(product=product).status == CardStatus.READY
    again = upload_cards()
    assert (again.sent, again.created) == (1, 1)
    assert list(product.card_outcomes.values_list("outcome", flat=True)) == [Outcome.CREATED, Outcome.ERROR]


def test_a_card_that_breaks_kaspis_schema_is_not_ready_and_never_sent(mapped, ready):
    good = ready(1)[0]
    bad = ready(1, start=21100, **{"Процессор": "Intel Core i7"})[0]
    # an allowed value as Kaspi lists it, but longer than its own schema lets a value be (256):
    # only the schema check catches it
    KaspiAttributeValue.objects.filter(attribute__code=f"{NB}*processor", code="Intel Core i7").update(
        code="Intel Core i7 " + "x" * 300
    )
    run = upload_cards()
    assert (run.sent, run.created, run.not_ready) == (1, 1, 1)
    assert set(mapped.cards) == {merchant_sku(good.article, sku_prefix())}
    row = ProductCard.objects.get(product=bad)
    assert row.status == CardStatus.NOT_READY
    assert [r["code"] for r in row.reasons] == ["schema"]
    with translation.override("ru"):
        (text,) = describe_all(row.reasons)
    assert text.startswith("карточка не соответствует схеме Kaspi: card.attributes[1].value: ")
    assert not CardOutcome.objects.filter(product=bad).exists()


def test_an_upload_and_its_result_make_no_query_per_card(mapped, ready, django_assert_max_num_queries):
    def queries(call) -> int:
        with CaptureQueriesContext(connection) as context:
            call()
        return len(context)

    def upload(n: int, start: int) -> tuple[int, int]:
        ready(n, start=start)
        sending = queries(lambda: upload_cards(wait=False))
        mapped.advance(7200)
        finishing = queries(lambda: check_pending())
        return sending, finishing

    sending, finishing = upload(2, start=21000)
    ready(40, start=21100)
    with django_assert_max_num_queries(sending):
        run = upload_cards(wait=False)
    mapped.advance(7200)
    with django_assert_max_num_queries(finishing):
        assert check_pending() == 1
    run.refresh_from_db()
    assert (run.sent, run.created) == (40, 40)
    assert ProductCard.objects.filter(status=CardStatus.CREATED).count() == 42


def test_batches_are_split_by_the_configured_size(mapped, ready, settings):
    settings.CARDS_BATCH_SIZE = 2
    ready(5)
    run = upload_cards()
    assert [b.sent for b in run.batches.order_by("number")] == [2, 2, 1]
    assert post_count(mapped) == 3
    assert len(mapped.imports) == 3
    assert run.created == 5
    assert len(run.import_codes.split(", ")) == 3


def test_status_is_polled_until_finished(mapped, ready, settings):
    mapped.uploaded_seconds, mapped.processing_seconds = 0.2, 0.3
    ready(1)
    seen = []
    original = mapped.import_status

    def spy(code):
        answer = original(code)
        seen.append(answer["status"])
        return answer

    mapped.import_status = spy
    run = upload_cards()
    assert run.created == 1
    assert seen[0] == "UPLOADED"
    assert "PROCESSING" in seen
    assert seen[-1] == "FINISHED"
    assert mapped.request_count("/import/result") == 1  # the result is read once, when finished


@pytest.mark.slow
def test_no_wait_leaves_the_batch_pending_and_it_is_looked_up_later(mapped, ready):
    mapped.uploaded_seconds = 3600
    ready(2)
    run = upload_cards(wait=False)
    batch = run.batches.get()
    assert batch.status == BatchStatus.UPLOADED
    assert run.created == 0
    assert set(ProductCard.objects.values_list("status", flat=True)) == {CardStatus.SENT}
    assert upload_cards().sent == 0  # waiting cards are not sent again
    mapped.advance(7200)
    assert check_pending() == 1
    batch.refresh_from_db()
    run.refresh_from_db()
    assert batch.status == BatchStatus.FINISHED
    assert run.created == 2
    assert set(ProductCard.objects.values_list("status", flat=True)) == {CardStatus.CREATED}


def test_not_ready_products_are_counted_and_never_sent(mapped, ready, catalog):
    ready(2)
    catalog["product"](21200, brand=None)  # no brand, no properties
    run = upload_cards()
    assert (run.sent, run.not_ready) == (2, 1)
    sent_skus = {card["sku"] for imp in mapped.imports.values() for card in imp["cards"]}
    assert merchant_sku(21200, sku_prefix()) not in sent_skus


def test_a_lost_answer_is_not_resent_blindly(mapped, ready):
    ready(2)
    mapped.kaspi.inject("timeout", path="/import", applied=True, delay=1.5)  # accepted; the answer is lost
    run = upload_cards()
    assert post_count(mapped) == 1
    assert len(mapped.imports) == 1  # Kaspi got it once; no retry
    assert run.status == "failed"
    assert run.unknown == 2
    assert run.error
    assert run.batches.get().status == BatchStatus.ANSWER_LOST
    assert set(ProductCard.objects.values_list("upload_state", flat=True)) == {UploadState.UNKNOWN}
    assert upload_cards().sent == 0
    assert post_count(mapped) == 1  # later uploads leave them alone
    resent = upload_cards(resend=True)  # staff ask: sent again
    assert resent.sent == 2
    assert post_count(mapped) == 2


@pytest.mark.parametrize("kind", ["drop", "truncated", "malformed", "502"])
def test_an_upload_answered_with_a_broken_or_no_answer_is_never_repeated(mapped, ready, kind):
    ready(2)
    mapped.kaspi.inject(kind, path="/import", applied=True)
    run = upload_cards()
    assert post_count(mapped) == 1
    assert len(mapped.imports) == 1
    assert run.unknown == 2
    assert run.batches.get().status == BatchStatus.ANSWER_LOST


def test_pending_imports_are_looked_up_before_anything_is_sent_again(mapped, ready):
    """A status check that fails (Kaspi down) leaves the batch pending; the next upload looks it
    up first and finishes it instead of sending its cards again."""
    ready(2)
    mapped.kaspi.inject("503", times=10, path="/import", after=1)  # the POST passes, every poll fails
    with pytest.raises(UploadFailed):
        upload_cards()
    assert set(ProductCard.objects.values_list("status", flat=True)) == {CardStatus.SENT}
    mapped.kaspi.clear_faults()
    run = upload_cards()
    assert run.sent == 0
    assert post_count(mapped) == 1
    assert set(ProductCard.objects.values_list("status", flat=True)) == {CardStatus.CREATED}


def test_a_request_that_never_reached_kaspi_is_retried(mapped, ready):
    ready(1)
    mapped.kaspi.inject("429", path="/import")
    run = upload_cards()
    assert run.created == 1
    assert post_count(mapped) == 2


def test_wrong_token_fails_in_words_and_changes_nothing(mapped, ready, settings):
    ready(2)
    settings.KASPI_TOKEN = "wrong-token-1234"
    with pytest.raises(UploadFailed) as info:
        upload_cards()
    assert "Settings → API token" in str(info.value) or "Настройки → API-токен" in str(info.value)
    assert "wrong-token-1234" not in str(info.value)
    run = UploadRun.objects.get()
    assert run.status == "failed"
    assert "wrong-token-1234" not in run.error
    assert set(ProductCard.objects.values_list("status", flat=True)) == {CardStatus.READY}


def test_an_aborted_import_marks_its_cards_refused(mapped, ready):
    ready(2)
    mapped.abort_next()
    run = upload_cards()
    assert run.errors == 2
    assert run.batches.get().status == BatchStatus.ABORTED
    assert all("aborted" in m.lower() or "прервал" in m for m in CardOutcome.objects.values_list("message", flat=True))


def test_command_json_and_exit_codes(mapped, ready, settings):
    ready(2)
    out = StringIO()
    call_command("upload_cards", "--json", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["sent"] == 2
    assert summary["created"] == 2
    assert summary["errors"] == 0
    assert summary["not_ready"] == 0
    settings.KASPI_TOKEN = "wrong-token-9876"
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("upload_cards", "--json", "--resend", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["sent"] == 0
    assert summary["error"]


def test_an_upload_with_refused_cards_is_announced_once_kaspi_has_finished(mapped, ready, settings):
    from alerts.models import Alert, Kind

    settings.CARDS_BATCH_SIZE = 2
    products = ready(3)
    mapped.categories["Master - Notebooks"]["attributes"][2]["type"] = "boolean"  # Kaspi refuses the RAM value
    mapped.categories["Master - Notebooks"]["attributes"][2]["mandatory"] = False
    mapped.uploaded_seconds = 3600
    run = upload_cards(wait=False)
    assert not Alert.objects.filter(kind=Kind.CARD_ERRORS).exists()  # Kaspi has not finished yet
    mapped.advance(7200)
    assert check_pending() == 2  # both batches finished: now the upload is announced
    run.refresh_from_db()
    assert run.errors == 3
    [alert] = Alert.objects.filter(kind=Kind.CARD_ERRORS)
    assert alert.title == f"Загрузка карточек №{run.pk}: Kaspi отклонил 3 карточки"
    assert alert.lines[0] == "Отправлено: 3, создано: 0, отклонено: 3, исход неизвестен: 0"
    assert {line.split(":")[0] for line in alert.lines[1:]} == {merchant_sku(p.article, sku_prefix()) for p in products}
    assert alert.link == f"/admin/cards/uploadrun/{run.pk}/change/"
    check_pending()
    assert Alert.objects.filter(kind=Kind.CARD_ERRORS).count() == 1


def test_an_upload_without_errors_is_not_announced(mapped, ready):
    from alerts.models import Alert

    ready(2)
    assert upload_cards().created == 2
    assert not Alert.objects.exists()


def test_an_import_kaspi_no_longer_knows_is_closed_and_does_not_block_later_uploads(mapped, ready):
    """Kaspi answers 400 "import not found" for a pending import (forgotten, or made with another
    token): its cards' outcome is unknown, they are not resent on their own, and every other
    upload and the periodic check go on."""
    mapped.uploaded_seconds = 3600
    old = ready(2)
    first = upload_cards(wait=False)
    mapped.imports.clear()  # Kaspi forgot it
    with translation.override("ru"):
        assert check_pending() == 1, "looked up and closed, not an error every ten minutes"
    batch = first.batches.get()
    assert batch.status == BatchStatus.ANSWER_LOST, batch.status
    message = describe_batch_message(batch)
    assert "больше не знает" in message, message
    assert batch.import_code in message, message
    assert "HTTP 400" in message, message
    assert {c.upload_state for c in ProductCard.objects.filter(product__in=old)} == {UploadState.UNKNOWN}
    first.refresh_from_db()
    assert first.unknown == 2
    assert first.sent == 2
    mapped.uploaded_seconds = 0.05
    ready(1, start=21500)
    run = upload_cards()
    assert run.status == "success", (run.status, run.error)
    assert (run.sent, run.created) == (1, 1), (run.status, run.error)
    assert post_count(mapped) == 2, "the forgotten cards were not sent again on their own"


def test_an_import_forgotten_while_it_is_followed_leaves_the_run_readable(mapped, ready):
    mapped.uploaded_seconds = 0.3
    ready(1)
    original = mapped.import_status

    def forget(code):
        mapped.imports.clear()
        return original(code)

    mapped.import_status = forget
    run = upload_cards()
    assert run.unknown == 1
    assert run.batches.get().status == BatchStatus.ANSWER_LOST
    assert run.status == "failed"
    assert run.error  # said in words, as a lost answer


def describe_batch_message(batch) -> str:
    return CardOutcome.objects.filter(batch=batch).values_list("message", flat=True).first() or ""


def test_command_json_when_another_upload_is_running(mapped, ready):
    from kaspisync import locks

    ready(1)
    out = StringIO()
    with locks.job_lock("cards.upload") as held:
        assert held is not None
        with pytest.raises(CommandError):
            call_command("upload_cards", "--json", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["status"] == "skipped", summary
    assert summary["sent"] == 0, summary
    assert summary["error"], summary


def test_an_upload_whose_answer_was_lost_is_announced_as_unknown_not_as_refused(mapped, ready):
    from alerts.models import Alert, Kind

    ready(2)
    mapped.kaspi.inject("drop", path="/import", applied=True)
    with translation.override("ru"):
        run = upload_cards()
    [alert] = Alert.objects.filter(kind=Kind.CARD_ERRORS)
    assert alert.title == f"Загрузка карточек №{run.pk}: неизвестно, создал ли Kaspi 2 карточки", alert.title
