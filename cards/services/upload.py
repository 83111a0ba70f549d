"""Uploads: ready cards to Kaspi in batches, each polled until Kaspi finishes it, every
product's outcome stored.

    run = upload_cards()                                  # every ready product without a card
    run = upload_cards(articles=[20901], resend=True)     # these, even if created or refused before
    run = upload_cards(wait=False)                        # send; results are read later
    check_pending()                                       # look up batches Kaspi has not finished

What is sent: products whose status is "ready" (never sent, or refused before and changed since);
with `resend`, also created and refused ones and those whose answer was lost. Never a card that
waits for a pending import, never a product that is not ready (counted as `not_ready`): every
card passed Kaspi's schema when it was built (cards.card), so one bad product cannot make Kaspi
reject a batch. Batches hold at most CARDS_BATCH_SIZE cards (Kaspi's limit: 10,000).

Before a batch is posted its products are marked "sent" (a crash after the POST must not lead
to a blind resend). Then:
- accepted: the import code is kept and polled (`GET /import?i=`) with a growing interval
  until FINISHED or ABORTED, or until CARDS_POLL_TIMEOUT (the batch stays pending and is looked
  up by the next upload or the periodic check); the result gives each SKU's outcome;
- answer lost (timeout, dropped connection or 5xx after sending, broken answer): Kaspi may have
  accepted it, and without its import code no endpoint can find it, so the batch's cards are
  left "sent, answer lost", never resent unless staff ask, and no further batch is sent (Kaspi
  is failing). An import whose code is known is always looked up, never sent again: a failed
  status check leaves its batch pending, and every later upload (and the periodic check) looks
  pending batches up before it sends anything; an import Kaspi no longer knows (a 4xx to the
  look-up) is closed like a lost answer, so it never blocks later uploads;
- refused or never sent (wrong token, 4xx, no connection after retries): the cards go back to
  what they were, and the run fails with the reason in words.
`UploadRun.errors` (cards Kaspi refused) and `UploadRun.unknown` (answer lost) are what alerts read.
"""

import logging
import time
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from kaspisync import locks
from kaspisync.models import RunStatus, RunTrigger
from kaspisync.runs import finish, run_job

from ..kaspi_content import AnswerLost, ContentApiError, ImportResult, KaspiContentClient, TokenRefused
from ..models import (
    BatchStatus,
    CardOutcome,
    CardStatus,
    Outcome,
    ProductCard,
    UploadBatch,
    UploadRun,
    UploadState,
)
from . import notices
from .readiness import ready_cards, refresh_readiness

log = logging.getLogger(__name__)

LOCK_NAME = "cards.upload"
MAX_POLL_INTERVAL = 300.0
PENDING = (BatchStatus.UPLOADED, BatchStatus.TIMED_OUT)
RESENDABLE = (CardStatus.READY, CardStatus.ERROR, CardStatus.CREATED)
UPDATE_BATCH = 500  # rows per bulk UPDATE (one CASE per field and row)


class UploadFailed(Exception):
    """The upload could not be made (bad token, Kaspi down): the run failed; message in words."""


def batch_size() -> int:
    return max(1, min(int(settings.CARDS_BATCH_SIZE), 10_000))


# --- selection ----------------------------------------------------------------------------------
def _selection(articles, product_ids) -> tuple[list[int] | None, list[int]]:
    """(product ids asked for, or None for "every ready product"; articles not in the catalog)."""
    if articles:
        found = dict(Product.objects.filter(article__in=list(articles)).values_list("article", "id"))
        return sorted(found.values()), sorted(set(articles) - set(found))
    if product_ids is not None:
        return sorted(set(product_ids)), []
    return None, []


def _candidates(ids: list[int] | None, resend: bool) -> tuple[list[int], int]:
    """(product ids to send, products asked for that are not ready)."""
    cards = ProductCard.objects.all() if ids is None else ProductCard.objects.filter(product_id__in=ids)
    wanted = list(RESENDABLE) if resend else [CardStatus.READY]
    chosen = set(cards.filter(status__in=wanted).values_list("product_id", flat=True))
    if resend:  # a card whose answer was lost may be sent again when staff ask
        chosen |= set(cards.filter(upload_state=UploadState.UNKNOWN, reasons=[]).values_list("product_id", flat=True))
    not_ready = cards.filter(status=CardStatus.NOT_READY).count()
    if ids is not None:  # asked for by article but outside every mapped category
        not_ready += len(set(ids)) - cards.exclude(status=CardStatus.NO_MAPPING).count()
    return sorted(chosen), not_ready


# --- the service --------------------------------------------------------------------------------
def upload_cards(
    *,
    articles=None,
    product_ids=None,
    resend: bool = False,
    wait: bool = True,
    trigger: str = RunTrigger.COMMAND,
    triggered_by: str = "",
    user=None,
    client: KaspiContentClient | None = None,
    sleep=time.sleep,
) -> UploadRun:
    with run_job(UploadRun, LOCK_NAME, trigger=trigger, triggered_by=triggered_by, user=user, resend=resend) as job:
        if job.skipped:
            return job.run
        run: UploadRun = job.run
        client = client or KaspiContentClient()
        try:
            job.progress(_("checking which cards are ready"))
            earlier = _look_up_pending(client, job.lock)
            ids, unknown_articles = _selection(articles, product_ids)
            if unknown_articles:
                run.stats["unknown_articles"] = unknown_articles
            refresh_readiness(ids)
            chosen, run.not_ready = _candidates(ids, resend)
            batches = _send_all(run, client, chosen, job.lock, job.progress)
            if wait:
                job.progress(_("waiting for Kaspi to check the cards"))
                deadline = time.monotonic() + settings.CARDS_POLL_TIMEOUT
                for batch in [*earlier, *batches]:
                    if batch.status in PENDING:
                        _follow(client, batch, deadline, sleep, job.lock)
        except ContentApiError as exc:
            run.error = f"{exc}"
            raise UploadFailed(str(exc)) from None
        finally:
            run.requests_made = client.requests_made
            _total(run)
        if run.unknown:
            finish(
                run,
                RunStatus.FAILED,
                _("Kaspi's answer to an upload was lost: cards that may or may not have been accepted %(n)d")
                % {"n": run.unknown},
            )
    return run


def _send_all(run: UploadRun, client: KaspiContentClient, chosen: list[int], lock, progress) -> list[UploadBatch]:
    size, batches = batch_size(), []
    for number, start in enumerate(range(0, len(chosen), size), start=1):
        progress(_("sending cards"), start, len(chosen))
        cards, not_ready = ready_cards(chosen[start : start + size])
        run.not_ready += not_ready  # changed since the readiness refresh a moment ago
        if not cards:
            continue
        batch = _send(run, client, number, cards)
        batches.append(batch)
        lock.refresh()
        if batch.status == BatchStatus.ANSWER_LOST:
            break  # Kaspi is failing: send nothing more now
    return batches


def _send(run: UploadRun, client: KaspiContentClient, number: int, cards: dict[int, tuple[dict, str]]) -> UploadBatch:
    now = timezone.now()
    previous = [  # what _refused puts back
        ProductCard(pk=pk, product_id=pid, upload_state=state, sent_hash=sent_hash, status=status)
        for pk, pid, state, sent_hash, status in ProductCard.objects.filter(product_id__in=list(cards)).values_list(
            "pk", "product_id", "upload_state", "sent_hash", "status"
        )
    ]
    with transaction.atomic():
        batch = UploadBatch.objects.create(run=run, number=number, sent=len(cards), sent_at=now)
        CardOutcome.objects.bulk_create(
            [
                CardOutcome(batch=batch, product_id=pid, sku=card["sku"], card_hash=h, at=now)
                for pid, (card, h) in cards.items()
            ],
            batch_size=2000,
        )
        sending = [
            ProductCard(
                pk=row.pk,
                upload_state=UploadState.SENT,
                status=CardStatus.SENT,
                sent_hash=cards[row.product_id][1],
                sent_at=now,
                message="",
            )
            for row in previous
        ]
        ProductCard.objects.bulk_update(
            sending, ["upload_state", "status", "sent_hash", "sent_at", "message"], batch_size=UPDATE_BATCH
        )
    try:
        answer = client.upload([card for card, _h in cards.values()])
    except AnswerLost as lost:
        _lost(batch, str(lost))
        return batch
    except ContentApiError as exc:
        _refused(batch, previous, str(exc))
        raise
    return _accepted(batch, answer.code, answer.status, answer.description)


def _accepted(batch: UploadBatch, code: str, kaspi_status: str, description: str) -> UploadBatch:
    batch.import_code, batch.kaspi_status = code, kaspi_status or "UPLOADED"
    batch.description, batch.status = description, BatchStatus.UPLOADED
    batch.save(update_fields=["import_code", "kaspi_status", "description", "status"])
    return batch


def _forgotten(batch: UploadBatch, message: str) -> None:
    """Kaspi no longer knows the import: whether its cards were created is unknown."""
    text = _(
        "Kaspi does not know the import %(code)s any more (%(error)s): whether the card was created is "
        "unknown. It is not resent automatically; check it in the Kaspi cabinet and resend it if it is missing."
    ) % {"code": batch.import_code, "error": message}
    _lost(batch, message, text)
    _total(batch.run)


def _lost(batch: UploadBatch, message: str, text: str = "") -> None:
    text = text or _(
        "Kaspi's answer was lost (%(error)s): the card may have been accepted. It is not resent "
        "automatically; check it in the Kaspi cabinet and resend it if it is missing."
    ) % {"error": message}
    with transaction.atomic():
        batch.status, batch.description, batch.finished_at = BatchStatus.ANSWER_LOST, message, timezone.now()
        batch.save(update_fields=["status", "description", "finished_at"])
        batch.outcomes.update(outcome=Outcome.UNKNOWN, message=text)
        ProductCard.objects.filter(product_id__in=batch.outcomes.values("product_id")).update(
            upload_state=UploadState.UNKNOWN, message=text
        )


def _refused(batch: UploadBatch, previous: list[ProductCard], message: str) -> None:
    """Nothing reached Kaspi (or it refused before processing): the cards are as before."""
    with transaction.atomic():
        batch.status, batch.description, batch.finished_at = BatchStatus.REFUSED, message, timezone.now()
        batch.save(update_fields=["status", "description", "finished_at"])
        batch.outcomes.update(outcome=Outcome.ERROR, message=message)
        ProductCard.objects.bulk_update(previous, ["upload_state", "sent_hash", "status"], batch_size=UPDATE_BATCH)


# --- following an import ---------------------------------------------------------------------------
def _follow(client: KaspiContentClient, batch: UploadBatch, deadline: float, sleep, lock=None) -> None:
    """Poll the import until Kaspi finishes it or the deadline passes (then TIMED_OUT)."""
    interval = max(0.0, float(settings.CARDS_POLL_INTERVAL))
    while True:
        if _check(client, batch):
            return
        if time.monotonic() + interval > deadline:
            batch.status = BatchStatus.TIMED_OUT
            batch.save(update_fields=["status"])
            return
        sleep(interval)
        interval = min(MAX_POLL_INTERVAL, max(interval * 1.5, 0.01))
        if lock is not None:
            lock.refresh()


def _refused_look_up(exc: ContentApiError) -> bool:
    """Kaspi refused to look the import up (4xx other than a token or a throttle): it does not
    know the code (forgotten, or made with another token). Asking again cannot help."""
    return (
        not isinstance(exc, TokenRefused) and exc.status is not None and 400 <= exc.status < 500 and exc.status != 429
    )


def _check(client: KaspiContentClient, batch: UploadBatch) -> bool:
    """Look the import up once; apply its result when Kaspi finished it. True when final (an
    import Kaspi no longer knows is closed as "outcome unknown")."""
    try:
        status = client.import_status(batch.import_code)
        result = client.import_result(batch.import_code) if status.status == "FINISHED" else None
    except ContentApiError as exc:
        if not _refused_look_up(exc):
            raise
        _forgotten(batch, exc.args[0])  # what Kaspi said, without the generic diagnosis
        return True
    batch.kaspi_status, batch.checked_at = status.status, timezone.now()
    if status.description:
        batch.description = status.description
    batch.save(update_fields=["kaspi_status", "checked_at", "description"])
    if status.status == "ABORTED":
        _apply_aborted(batch, status.description)
        return True
    if result is None:
        return False
    _apply_result(batch, result)
    return True


def _apply_result(batch: UploadBatch, result: ImportResult) -> None:
    now = timezone.now()
    missing = _("Kaspi's result does not mention this card")
    with transaction.atomic():
        outcomes = list(batch.outcomes.all())
        sent = {  # {product id: (card row id, hash of the card as last sent)}
            pid: (pk, sent_hash)
            for pid, pk, sent_hash in ProductCard.objects.filter(product__card_outcomes__batch=batch).values_list(
                "product_id", "pk", "sent_hash"
            )
        }
        cards = []
        for outcome in outcomes:
            entry = result.by_sku.get(outcome.sku)
            if entry is not None and entry.created:
                outcome.outcome, outcome.message = Outcome.CREATED, entry.message
                state, status = UploadState.CREATED, CardStatus.CREATED
            else:
                outcome.outcome = Outcome.ERROR
                outcome.message = entry.message if entry is not None else missing
                state, status = UploadState.ERROR, CardStatus.ERROR
            outcome.at = now
            pk, sent_hash = sent.get(outcome.product_id, (None, None))
            # Only the card as it was sent: a later upload of the same product decides for itself.
            if pk is not None and sent_hash == outcome.card_hash:
                cards.append(ProductCard(pk=pk, upload_state=state, status=status, message=outcome.message))
        created = sum(1 for outcome in outcomes if outcome.outcome == Outcome.CREATED)
        CardOutcome.objects.bulk_update(outcomes, ["outcome", "message", "at"], batch_size=UPDATE_BATCH)
        ProductCard.objects.bulk_update(cards, ["upload_state", "status", "message"], batch_size=UPDATE_BATCH)
        batch.status, batch.finished_at = BatchStatus.FINISHED, now
        batch.created, batch.errors, batch.summary = created, len(outcomes) - created, result.summary()
        batch.save(update_fields=["status", "finished_at", "created", "errors", "summary"])
        _total(batch.run)
    # A refused card whose data changed while Kaspi was working is ready again at once.
    refresh_readiness([outcome.product_id for outcome in outcomes if outcome.outcome == Outcome.ERROR])


def _apply_aborted(batch: UploadBatch, description: str) -> None:
    now = timezone.now()
    message = _("Kaspi aborted the import: %(reason)s") % {"reason": description or _("no reason given")}
    as_sent = CardOutcome.objects.filter(
        batch=batch, product_id=OuterRef("product_id"), card_hash=OuterRef("sent_hash")
    )
    with transaction.atomic():
        batch.outcomes.update(outcome=Outcome.ERROR, message=message, at=now)
        ProductCard.objects.filter(Exists(as_sent)).update(
            upload_state=UploadState.ERROR, status=CardStatus.ERROR, message=message
        )
        batch.status, batch.finished_at, batch.errors = BatchStatus.ABORTED, now, batch.sent
        batch.save(update_fields=["status", "finished_at", "errors"])
        _total(batch.run)


def _total(run: UploadRun) -> None:
    """The run's counters from its batches' outcomes (one source of truth). Cards of a batch
    that never reached Kaspi count as neither sent nor refused: the run's error says why."""
    if run.pk is None:
        return
    received = CardOutcome.objects.filter(batch__run=run).exclude(batch__status=BatchStatus.REFUSED)
    counts = Counter(dict(received.values_list("outcome").order_by().annotate(n=Count("id"))))
    run.sent = sum(counts.values())
    run.created = counts.get(Outcome.CREATED, 0)
    run.errors = counts.get(Outcome.ERROR, 0)
    run.unknown = counts.get(Outcome.UNKNOWN, 0)
    codes = run.batches.exclude(import_code="").order_by("number").values_list("import_code", flat=True)
    run.import_codes = ", ".join(codes)[:2000]
    with transaction.atomic():  # the final counts and their alert together
        run.save(
            update_fields=[
                "sent",
                "created",
                "errors",
                "unknown",
                "not_ready",
                "import_codes",
                "stats",
                "error",
                "requests_made",
            ]
        )
        if not run.batches.filter(status__in=PENDING).exists():  # Kaspi has finished every batch
            notices.upload_errors(run)


def _look_up_pending(client: KaspiContentClient, lock=None) -> list[UploadBatch]:
    """Earlier batches Kaspi had not finished: look each up once (results applied when final);
    return those still pending."""
    pending = []
    for batch in UploadBatch.objects.filter(status__in=PENDING).exclude(import_code="").select_related("run"):
        if not _check(client, batch):
            pending.append(batch)
        if lock is not None:
            lock.refresh()
    return pending


def check_pending(client: KaspiContentClient | None = None) -> int | None:
    """The periodic check: pending batches looked up; returns how many Kaspi has finished
    (None when an upload holds the lock)."""
    if not UploadBatch.objects.filter(status__in=PENDING).exclude(import_code="").exists():
        return 0
    with locks.job_lock(LOCK_NAME) as lock:
        if lock is None:
            return None
        pending = UploadBatch.objects.filter(status__in=PENDING).exclude(import_code="").count()
        return pending - len(_look_up_pending(client or KaspiContentClient(), lock))
