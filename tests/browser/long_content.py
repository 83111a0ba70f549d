"""Rows with the long texts staff meet in real life (a mail server's refusal with an address and a
URL in it, a Kaspi error, a 120-character product name, a long delivery address, a browser's user
agent), one or two in every admin list, for the tests that check that the lists still fit."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tests.factories import make_product

LONG_NAME = (
    "Ноутбук игровой ASUS ROG Strix SCAR 18 G834JYR-R6080W Intel Core i9-14900HX 64 ГБ DDR5 "
    "2 ТБ SSD GeForce RTX 4090 18\u2033 QHD+ 240 Гц Windows 11 Pro чёрный"
)
LONG_ADDRESS = (
    "Казахстан, Алматинская область, Карасайский район, село Иргели, микрорайон Асыл Арман, "
    "улица Жибек Жолы, дом 143/2, блок Б, подъезд 4, этаж 11, квартира 1187, домофон 1187К"
)
LONG_EMAIL = "olga.petrovna.ivanova-kuznetsova@almaty-electronics-distribution.kz"
MAIL_ERROR = (
    f"Не доставлено после 8 попыток. Последняя ошибка: The mail server refused the address {LONG_EMAIL} "
    f"(550 5.1.1 <{LONG_EMAIL}>: Recipient address rejected: User unknown in virtual mailbox table; "
    "https://postmaster.almaty-electronics-distribution.kz/errors/550-5.1.1/user_unknown_in_virtual_mailbox_table)"
)
KASPI_ERROR = (
    "Kaspi ответил 400 на POST https://kaspi.kz/shop/api/products/import?merchantUid=30123456&batch="
    '7f3c2a9e-1b4d-4c8e-9a6f-2d5e8b7c1a30: {"errors":[{"code":"ATTRIBUTE_VALUE_INVALID","attribute":'
    '"Notebooks*Screen.resolution","message":"Значение 3840x2400_OLED_120Hz_TouchScreen не из справочника"}]}'
)
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.85 "
    "Safari/537.36 KaspiPriceListFetcher/2.14.7 (+https://kaspi.kz/merchantcabinet/support/price-list-fetcher)"
)
LONG_PATH = "/admin/catalog/product/?q=ASUS+ROG+Strix+SCAR+18+G834JYR-R6080W&brand__id__exact=17&o=-3.1&p=12"


def fill_long_content():
    """One or two rows with long texts in every list staff work in; returns the long product."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.auth import get_user_model

    from alerts.models import Alert, Delivery, Subscription
    from cards.models import CardOutcome, UploadBatch, UploadRun
    from catalog.models import Category, FeedExclusion, ImportRun, PriceOverride, PricingAudit, SalePriceChange
    from feeds.models import FeedFetch, FeedProbe, FeedVersion
    from kaspisync.models import JobLock
    from orders.models import AutoAcceptCheck, Order, OrderEntry, PullRun, Purchase

    now = timezone.now()
    user = get_user_model().objects.filter(is_superuser=True).first()
    category = Category.objects.create(
        id=990001, name="Игровые ноутбуки, ультрабуки и мобильные рабочие станции для профессионалов"
    )
    product = make_product(name=LONG_NAME, brand="ASUS Republic of Gamers (ROG)", category=category)

    alert = Alert.objects.create(
        kind="job_failed",
        key="long-content",
        title="Фоновая задача «Импорт каталога Al-Style» завершилась с ошибкой три раза подряд: поставщик "
        "не отвечает, товары и цены не обновлялись с утра",
        lines=[MAIL_ERROR],
        link="/admin/catalog/importrun/",
        created_at=now,
    )
    Delivery.objects.create(
        alert=alert, channel="email", address=LONG_EMAIL, user=user, status="failed", attempts=8,
        next_attempt_at=now, error=MAIL_ERROR,
    )  # fmt: skip
    Delivery.objects.create(
        alert=alert, channel="telegram", address="-1001234567890", status="uncertain", attempts=1,
        next_attempt_at=now, error=KASPI_ERROR,
    )  # fmt: skip
    if user is not None:
        Subscription.objects.update_or_create(
            user=user,
            defaults={
                "email": LONG_EMAIL,
                "telegram_chat_id": "-1001234567890",
                "telegram_kinds": ["order_waiting", "order_reminder", "job_failed", "feed_held", "margin_floor"],
                "email_kinds": ["daily_summary", "cancellation_share", "card_errors", "feed_not_fetched"],
            },
        )

    ImportRun.objects.create(kind="full", status="failed", started_at=now, finished_at=now, error=KASPI_ERROR)
    PullRun.objects.create(status="failed", started_at=now, finished_at=now, error=KASPI_ERROR, errors=3)
    upload = UploadRun.objects.create(
        status="failed",
        started_at=now,
        finished_at=now,
        error=KASPI_ERROR,
        import_codes=",".join(["7f3c2a9e1b4d"] * 12),
    )
    batch = UploadBatch.objects.create(run=upload, description=KASPI_ERROR)
    CardOutcome.objects.create(
        batch=batch, product=product, sku="AS990001", outcome="error", message=KASPI_ERROR, at=now
    )

    for result in ("unchanged", "rejected", "published"):
        FeedVersion.objects.create(
            result=result, status="success", started_at=now, finished_at=now, offers=6655, available_offers=4598,
            dropped_offers=12, size=1_468_006, published_at=now if result == "published" else None,
            published_by=LONG_EMAIL if result == "published" else "",
        )  # fmt: skip
    FeedFetch.objects.create(
        fetched_at=now, ip="2a02:2168:8a0f:1c00:4d3e:9b1f:72c5:e0a8", user_agent=USER_AGENT[:300], status=200
    )
    FeedProbe.objects.create(
        day=now.date(), ip="185.146.3.201", count=7, first_at=now, last_at=now, user_agent=USER_AGENT[:100]
    )
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        fields = {
            "user_agent": USER_AGENT,
            "ip_address": "185.146.3.201",
            "username": LONG_EMAIL,
            "path_info": LONG_PATH,
        }
        if model is AccessAttempt:
            fields |= {"failures_since_start": 3, "get_data": LONG_PATH, "post_data": "username=" + LONG_EMAIL}
        model.objects.create(**fields)
    JobLock.objects.create(
        name="catalog.import_catalog", owner="celery@kaspisync-worker-02.almaty.internal:pid=48213:thread=LockKeeper-1",
        acquired_at=now, expires_at=now + timedelta(minutes=15), alive_at=now,
    )  # fmt: skip

    FeedExclusion.objects.create(product=product, reason="Поставщик присылает неверные остатки по этому товару " * 4)
    PriceOverride.objects.create(product=product, price=1_999_990, expires_at=now + timedelta(days=3), created_by=user)
    SalePriceChange.objects.create(product=product, old_price=1_899_990, new_price=1_999_990, cause="manual", user=user)
    PricingAudit.objects.create(
        user=user, action="changed", object_type="pricerule", object_repr=LONG_NAME,
        changes={"markup_percent": ["15", "17.5"], "name": [LONG_NAME, LONG_NAME + " (copy)"]},
    )  # fmt: skip

    order = Order.objects.create(
        kaspi_id="long-content-1", code="500099901", state="NEW", status="ACCEPTED_BY_MERCHANT",
        total_price=Decimal("1999990"), delivery_mode="DELIVERY_LOCAL", city="Алматинская область, Карасайский район",
        customer_name="Константинопольская-Христорождественская Александра-Мария Владиленовна",
        customer_phone="7012345678", delivery_address=LONG_ADDRESS, created_at=now, attributes_hash="x",
    )  # fmt: skip
    entry = OrderEntry.objects.create(
        order=order, kaspi_id="long-content-1-1", sku="AS990001", product=product, name=LONG_NAME, quantity=1,
        base_price=Decimal("1999990"), total_price=Decimal("1999990"), sku_error=KASPI_ERROR[:500],
    )  # fmt: skip
    Purchase.objects.create(
        order=order, entry=entry, product=product, article=product.article, quantity=1, unit_price=1_799_990,
        document="АС-0001234567-2026/12", recorded_at=now, recorded_by=user, unmarked_at=now, unmarked_by=user,
        unmark_reason="Al-Style отменил отгрузку: товар закончился на складе в Алматы, документ аннулирован " * 3,
    )  # fmt: skip
    AutoAcceptCheck.objects.create(
        order=order, checked_at=now, outcome="held", rule_name="Алматы и область: только Kaspi Доставка",
        reasons=["сумма заказа 1 999 990 ₸ выше предела правила 500 000 ₸", "доставка не Kaspi Доставка: " + LONG_ADDRESS],
    )  # fmt: skip
    return product
