"""Every admin list runs a number of queries that does not grow with its rows (issue 10).

Each registered admin (and each custom page that lists things: dashboard, purchase list,
quality page) is rendered twice through the test client: with a few rows, then with many more,
each row with its own related rows (category, brand, rule, manual price, card, entries,
purchases, deliveries…), so any per-row lookup in `get_queryset` or a display column adds
queries. The second render may not run more queries than the first; a failure prints the
queries that repeat. `test_every_registered_admin_is_covered` keeps a new admin from slipping
past. The change pages with inlines (product, order, alert, card mapping, upload run) are held
to the same rule over their inline rows.
"""

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, Delivery, Subscription
from cards.models import (
    AttributeMapping,
    CardOutcome,
    CardStatus,
    CategoryMapping,
    KaspiAttribute,
    KaspiAttributeValue,
    KaspiCategory,
    ProductCard,
    UploadBatch,
    UploadRun,
)
from catalog.models import (
    Brand,
    Category,
    CommissionRate,
    FeedExclusion,
    ImportRun,
    PriceBand,
    PriceOverride,
    PriceRule,
    PricingAudit,
    PricingRun,
    Product,
    ProductChange,
    SalePriceChange,
)
from feeds.models import FeedCity, FeedCityPriceOverride, FeedFetch, FeedProbe, FeedVersion
from feeds.services import feed_settings
from kaspisync.models import JobLock, RunStatus
from orders.models import (
    AutoAcceptCheck,
    AutoAcceptRule,
    AutoAcceptSettings,
    Order,
    OrderEntry,
    OrderEvent,
    PullRun,
    Purchase,
)
from tests.factories import make_product, make_staff

pytestmark = pytest.mark.django_db

FEW, MORE = 3, 30  # rows before and after: every list's page holds both (Order's 50 the smallest)
_seq = itertools.count(1)


def now():
    return timezone.now()


def a_user():
    return make_staff(f"user{next(_seq)}")


# --- rows with their related rows -------------------------------------------------------------
def category(**fields) -> Category:
    i = next(_seq)
    return Category.objects.create(id=100_000 + i, name=f"Ноутбуки {i}", level=2, left=2 * i, right=2 * i + 1, **fields)


def brand() -> Brand:
    i = next(_seq)
    return Brand.objects.create(name=f"Бренд {i}", alstyle_guid=f"guid-{i}", product_count=i)


def product(**fields) -> Product:
    i = next(_seq)
    values = {
        "name": f"Ноутбук Lenovo IdeaPad {i}",
        "category": category(),
        "brand": brand(),
        "dealer_price": 250_000,
        "retail_price": 290_000,
        "rrp": 299_990,
        "stock": 7,
        "warehouse_stock": {"1": 4, "7": 3},
        "sale_price": 289_990,
        "price_explanation": "дилерская 250 000 ₸ + 15 %",
        "net_margin": 12_000,
        "net_margin_percent": Decimal("4.1"),
        **fields,
    }
    return make_product(**values)


def products(n, *, user=None):
    """Products as the catalog holds them: each in its own category and brand, priced by its
    category's rule, some with a manual price, below the margin floor, excluded from the price
    list or unsellable, with Kaspi cards in every status, supplier and sale price history."""
    user = user or a_user()
    import_run = ImportRun.objects.create(started_at=now(), status=RunStatus.SUCCESS)
    pricing_run = PricingRun.objects.create(started_at=now(), status=RunStatus.SUCCESS, cause="recompute")
    statuses = [s for s in CardStatus.values if s != CardStatus.NO_MAPPING]
    for k in range(n):
        p = product(
            below_margin_floor=k % 4 == 1,
            feed_excluded=k % 5 == 2,
            unsellable_reason="no_price" if k % 7 == 3 else "",
            stock_qualifier=">" if k % 3 == 0 else "=",
        )
        p.price_rule = PriceRule.objects.create(category=p.category, markup_percent=15)
        p.save(update_fields=["price_rule"])
        PriceBand.objects.create(rule=p.price_rule, low=0, high=100_000, markup_percent=20)
        if k % 2:
            PriceOverride.objects.create(
                product=p, price=279_990, created_by=user, expires_at=now() + timedelta(days=3) if k % 4 == 1 else None
            )
        if k % 6:  # the others have no card row yet ("no mapping")
            ProductCard.objects.create(
                product=p, status=statuses[k % len(statuses)], reasons=[{"code": "no_images"}] if k % 3 else []
            )
        SalePriceChange.objects.create(
            product=p, old_price=280_000, new_price=289_990, cause="recompute", user=user, run=pricing_run
        )
        ProductChange.objects.create(
            product=p, field="dealer_price", old_value=240_000, new_value=250_000, changed_at=now(), run=import_run
        )


def order(*, user=None, entries=2, **fields) -> Order:
    """An order as a pull stores it: entries matched to products (one not in the catalog), its
    timeline, auto-accept's decision and a purchase of its first entry."""
    i = next(_seq)
    o = Order.objects.create(
        kaspi_id=f"kaspi-{i}",
        code=str(600_000_000 + i),
        state="DELIVERY",
        status=fields.pop("status", "ACCEPTED_BY_MERCHANT"),
        total_price=Decimal(0),
        delivery_mode="DELIVERY_LOCAL",
        payment_mode="PAY_WITH_CREDIT",
        city="Алматы",
        customer_name="Айгерим Садыкова",
        customer_phone="7011234567",
        delivery_address="Алматы, ул. Абая, 1",
        created_at=now() - timedelta(days=i % 20, hours=1),
        approved_by_bank_at=now() - timedelta(days=i % 20),
        attributes_hash=f"h{i}",
        **fields,
    )
    total = Decimal(0)
    for n in range(entries):
        p = product() if n < entries - 1 or entries == 1 else None
        price = Decimal(289_990)
        entry = OrderEntry.objects.create(
            order=o,
            kaspi_id=f"{o.code}-{n}",
            entry_number=n,
            sku=f"AS{p.article}" if p else "FOREIGN77",
            product=p,
            name=p.name if p else "Чужой товар",
            quantity=Decimal(2),
            unit_type="PIECES",
            base_price=price,
            total_price=2 * price,
            dealer_price_at_order=p.dealer_price if p else None,
            commission_percent_at_order=Decimal(12) if p else None,
        )
        total += entry.total_price
        if p is not None and n == 0:
            Purchase.objects.create(
                order=o,
                entry=entry,
                product=p,
                article=p.article,
                quantity=1,
                unit_price=250_000,
                document=f"РН-{i}",
                recorded_at=now(),
                recorded_by=user,
            )
        if p is not None:
            CommissionRate.objects.create(category=p.category, percent=12)
    o.total_price = total
    o.save(update_fields=["total_price"])
    OrderEvent.objects.create(order=o, at=o.created_at, source="pull", to_state="NEW", to_status="APPROVED_BY_BANK")
    OrderEvent.objects.create(
        order=o, at=now(), source="user", user=user, from_status="APPROVED_BY_BANK", to_status=o.status
    )
    rule = AutoAcceptRule.objects.create(name=f"До 500 000 ₸ ({i})", max_total=500_000)
    AutoAcceptCheck.objects.create(
        order=o, checked_at=now(), outcome="held", rule=rule, rule_name=rule.name, reasons=["нет товара на складе"]
    )
    return o


def orders(n):
    user = a_user()
    for k in range(n):
        order(user=user, status="APPROVED_BY_BANK" if k % 3 == 0 else "ACCEPTED_BY_MERCHANT")


def run_rows(model, **fields):
    def seed(n):
        for k in range(n):
            model.objects.create(
                started_at=now() - timedelta(hours=k),
                status=RunStatus.RUNNING if k == 0 else RunStatus.SUCCESS,
                stats={"progress": {"done": 3, "total": 10}, "pages": 4},
                triggered_by="admin",
                **fields,
            )

    return seed


def price_rules(n):
    for _ in range(n):
        rule = PriceRule.objects.create(category=category(), brand=brand(), markup_percent=10, min_margin=1000)
        PriceBand.objects.create(rule=rule, low=0, high=50_000, markup_percent=25)
        PriceBand.objects.create(rule=rule, low=50_000, high=None, markup_percent=10)
        product(price_rule=rule)
        PriceRule.objects.create(product=product(), markup_percent=5)


def commission_rates(n):
    for _ in range(n):
        CommissionRate.objects.create(category=category(), percent=Decimal("12.5"))


def feed_exclusions(n):
    user = a_user()
    for k in range(n):
        target = [{"category": category()}, {"brand": brand()}, {"product": product()}][k % 3]
        FeedExclusion.objects.create(reason="не продаём", created_by=user, **target)


def pricing_audit(n):
    for k in range(n):
        rule = PriceRule.objects.create(category=category(), markup_percent=10)
        PricingAudit.objects.create(
            user=a_user(),
            action=["created", "changed", "deleted"][k % 3],
            object_type=["pricerule", "commissionrate", "feedexclusion"][k % 3],
            object_id=rule.pk,
            object_repr=str(rule),
            changes={"markup_percent": ["10", "12"], "cap": ["", "rrp"]},
        )


def sale_price_changes(n):
    run = PricingRun.objects.create(started_at=now(), status=RunStatus.SUCCESS, cause="rule")
    for _ in range(n):
        SalePriceChange.objects.create(
            product=product(), old_price=1000, new_price=1100, cause="rule", user=a_user(), run=run
        )


def price_overrides(n):
    for _ in range(n):
        PriceOverride.objects.create(product=product(), price=999, created_by=a_user())


def categories(n):
    parent = category()
    for _ in range(n):
        category(parent=parent)


def brands(n):
    for _ in range(n):
        product(brand=brand())


def job_locks(n):
    for _ in range(n):
        JobLock.objects.create(
            name=f"job-{next(_seq)}", owner="host:1", acquired_at=now(), expires_at=now() + timedelta(minutes=5)
        )


def feed_city_overrides(n):
    feed = feed_settings()
    for _ in range(n):
        city = FeedCity.objects.create(feed=feed, city_id=f"75{next(_seq)}", name="Астана")
        FeedCityPriceOverride.objects.create(city=city, product=product(), price=12_990)


def feed_versions(n):
    previous = None
    for k in range(n):
        previous = FeedVersion.objects.create(
            started_at=now() - timedelta(hours=k),
            status=RunStatus.SUCCESS,
            result="published" if k % 2 else "rejected",
            offers=100,
            size=12_345,
            file=f"feeds/kaspi-{next(_seq)}.xml",
            diff={"counts": {"added": 1, "removed": 2, "price_changed": 3, "stock_changed": 4}},
            previous=previous,
            published_at=now(),
            published_by="admin",
        )


def feed_fetches(n):
    version = FeedVersion.objects.create(started_at=now(), status=RunStatus.SUCCESS, result="published")
    for _ in range(n):
        FeedFetch.objects.create(fetched_at=now(), status=200, ip="10.0.0.1", user_agent="Kaspi", version=version)


def feed_probes(n):
    for k in range(n):
        FeedProbe.objects.create(
            day=now().date() - timedelta(days=k % 5),
            ip=f"10.1.{next(_seq) % 250}.{k % 250}",
            count=3,
            first_at=now(),
            last_at=now(),
        )


def autoaccept_rules(n):
    for k in range(n):
        AutoAcceptRule.objects.create(
            name=f"Правило {next(_seq)}",
            max_total=100_000,
            delivery_modes=["DELIVERY_LOCAL", "DELIVERY_PICKUP"],
            payment_modes=["PREPAID"],
            position=k,
        )


def autoaccept_checks(n):
    for _ in range(n):
        order(entries=1)


def purchases(n):
    user = a_user()
    for k in range(n):
        o = order(user=user, entries=1)
        if k % 2:
            o.purchases.update(unmarked_at=now(), unmarked_by=a_user(), unmark_reason="ошибка")


def alerts(n):
    users = [a_user(), a_user()]
    for _ in range(n):
        alert = Alert.objects.create(
            kind="job_failed", key=f"k{next(_seq)}", title="Импорт не удался", lines=["a"], created_at=now()
        )
        for user, channel, status in zip(users, ("telegram", "email"), ("sent", "failed"), strict=True):
            Delivery.objects.create(
                alert=alert, channel=channel, address="1001", user=user, status=status, next_attempt_at=now()
            )


def deliveries(n):
    for _ in range(n):
        alert = Alert.objects.create(
            kind="job_failed", key=f"k{next(_seq)}", title="Импорт не удался", created_at=now()
        )
        Delivery.objects.create(alert=alert, channel="telegram", address="1001", user=a_user(), next_attempt_at=now())


def subscriptions(n):
    for _ in range(n):
        Subscription.objects.create(user=a_user(), telegram_chat_id="1001", telegram_kinds=["job_failed"])


def kaspi_category(**fields) -> KaspiCategory:
    i = next(_seq)
    kaspi = KaspiCategory.objects.create(code=f"Master - Notebooks {i}", title=f"Ноутбуки {i}", **fields)
    for position, (code, kind) in enumerate((("Brand", "enum"), ("Color", "enum"), ("Weight", "number"))):
        attribute = KaspiAttribute.objects.create(
            category=kaspi, code=f"{code}-{i}", type=kind, mandatory=position == 0, position=position
        )
        for value in ("Lenovo", "HP"):
            KaspiAttributeValue.objects.create(attribute=attribute, code=f"{value}-{i}", name=value)
    return kaspi


def kaspi_categories(n):
    for _ in range(n):
        kaspi_category()


def category_mappings(n):
    for _ in range(n):
        alstyle = category()
        mapping = CategoryMapping.objects.create(alstyle_category=alstyle, kaspi_category=kaspi_category())
        for attribute in mapping.kaspi_category.attributes.all():
            AttributeMapping.objects.create(mapping=mapping, attribute=attribute)
        for status in (CardStatus.READY, CardStatus.ERROR):
            ProductCard.objects.create(product=product(category=alstyle), status=status)


def upload_runs(n):
    for k in range(n):
        run = UploadRun.objects.create(started_at=now(), status=RunStatus.SUCCESS, user=a_user(), import_codes="c1")
        UploadBatch.objects.create(run=run, number=1, status="finished", import_code=f"c{k}")


def card_outcomes(n):
    for _ in range(n):
        run = UploadRun.objects.create(started_at=now(), status=RunStatus.SUCCESS)
        batch = UploadBatch.objects.create(run=run, number=1, status="finished")
        p = product()
        CardOutcome.objects.create(batch=batch, product=p, sku=f"AS{p.article}", outcome="created", at=now())


def users(n):
    group = Group.objects.create(name=f"Менеджеры {next(_seq)}")
    for _ in range(n):
        a_user().groups.add(group)


def groups(n):
    permissions = list(Permission.objects.all()[:5])
    for _ in range(n):
        Group.objects.create(name=f"Группа {next(_seq)}").permissions.set(permissions)


def axes_rows(model_path):
    def seed(n):
        from django.apps import apps

        model = apps.get_model(model_path)
        fields = {f.name for f in model._meta.get_fields()}
        for k in range(n):
            values = {"username": f"guess{next(_seq)}", "ip_address": "10.0.0.9", "user_agent": "curl"}
            if "attempt_time" in fields:
                values["attempt_time"] = now()
            if "failures_since_start" in fields:
                values["failures_since_start"] = k + 1
            model.objects.create(**{k: v for k, v in values.items() if k in fields})

    return seed


def dashboard_rows(n):
    orders(n // 3 or 1)
    products(n // 3 or 1)
    run_rows(ImportRun)(2)
    run_rows(PullRun)(2)


def purchase_list_rows(n):
    """Open orders whose entries still need buying (some bought in part)."""
    user = a_user()
    for _ in range(n):
        order(user=user, entries=2, status="ACCEPTED_BY_MERCHANT")


def quality_rows(n):
    for k in range(n):
        order(
            entries=1, status=["COMPLETED", "CANCELLED", "RETURNED"][k % 3], cancellation_reason="BUYER_NOT_REACHABLE"
        )


# --- the lists ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    name: str  # the test id
    url: str  # a URL name, reversed, or a path
    seed: object  # seed(n): adds n rows (with their related rows)
    query: str = ""
    users: tuple[str, ...] = ("superuser",)
    models: tuple[str, ...] = ()  # the registered admins this page stands for (coverage)
    args: tuple = field(default_factory=tuple)

    def path(self) -> str:
        base = self.url if self.url.startswith("/") else reverse(self.url, args=self.args)
        return f"{base}?{self.query}" if self.query else base


def changelist(label: str, seed, query: str = "", **kwargs) -> Page:
    app, model = label.split(".")
    name = f"{label}{'?' + query if query else ''}"
    return Page(name, f"admin:{app}_{model.lower()}_changelist", seed, query, models=(label,), **kwargs)


PAGES = [
    # catalog
    changelist("catalog.Product", products),
    changelist("catalog.Product", products, "q=Lenovo"),
    changelist("catalog.Product", products, "q=ноутбук"),
    changelist("catalog.Product", products, "o=-3"),
    changelist("catalog.Product", products, "o=4.-2"),
    changelist("catalog.Product", products, "is_active__exact=1&in_stock=yes&manual_price=no"),
    changelist("catalog.Product", products, "card_status=ready"),
    changelist("catalog.Category", categories),
    changelist("catalog.Brand", brands),
    changelist("catalog.ImportRun", run_rows(ImportRun, created=3, skipped={"no_article": 2})),
    changelist("catalog.PriceRule", price_rules),
    changelist("catalog.CommissionRate", commission_rates),
    changelist("catalog.FeedExclusion", feed_exclusions),
    changelist("catalog.PricingAudit", pricing_audit),
    changelist("catalog.SalePriceChange", sale_price_changes),
    changelist("catalog.PriceOverride", price_overrides),
    changelist("catalog.PricingRun", run_rows(PricingRun, cause="recompute")),
    # orders
    changelist("orders.Order", orders, users=("superuser", "staff")),
    changelist("orders.Order", orders, "q=AS", users=("superuser", "staff")),
    changelist("orders.Order", orders, "o=-3", users=("superuser", "staff")),
    changelist("orders.Order", orders, "unmatched=yes"),
    changelist("orders.PullRun", run_rows(PullRun)),
    changelist("orders.AutoAcceptRule", autoaccept_rules),
    changelist("orders.AutoAcceptCheck", autoaccept_checks),
    changelist("orders.Purchase", purchases),
    Page(
        "orders.PurchaseList",
        "admin:orders_purchaselist_changelist",
        purchase_list_rows,
        users=("superuser", "staff"),
        models=("orders.PurchaseList",),
    ),
    Page(
        "orders.QualityReport", "admin:orders_qualityreport_changelist", quality_rows, models=("orders.QualityReport",)
    ),
    # feeds
    changelist("feeds.FeedCityPriceOverride", feed_city_overrides),
    changelist("feeds.FeedVersion", feed_versions),
    changelist("feeds.FeedFetch", feed_fetches),
    changelist("feeds.FeedProbe", feed_probes),
    # cards
    changelist("cards.KaspiCategory", kaspi_categories),
    changelist("cards.CategoryMapping", category_mappings),
    changelist("cards.UploadRun", run_rows(UploadRun)),
    changelist("cards.CardOutcome", card_outcomes),
    # alerts
    changelist("alerts.Alert", alerts),
    changelist("alerts.Delivery", deliveries),
    changelist("alerts.Subscription", subscriptions),
    # plumbing, accounts, login throttling
    changelist("kaspisync.JobLock", job_locks),
    changelist("auth.User", users),
    changelist("auth.Group", groups),
    changelist("axes.AccessAttempt", axes_rows("axes.AccessAttempt")),
    changelist("axes.AccessLog", axes_rows("axes.AccessLog")),
    changelist("axes.AccessFailureLog", axes_rows("axes.AccessFailureLog")),
    # the dashboard
    Page("dashboard", "admin:index", dashboard_rows),
]
# Singletons: their "list" is a redirect to their one row's page (seen in CHANGE_PAGES).
SINGLETONS = {"feeds.FeedSettings", "orders.AutoAcceptSettings"}


@pytest.fixture
def login(client):
    def as_(who: str):
        if who == "superuser":
            user = make_staff(f"boss{next(_seq)}", superuser=True)
        else:  # staff who may see orders and the purchase list, not the customer's data
            user = make_staff(f"clerk{next(_seq)}", "orders.view_order", "orders.view_purchase_list")
        client.force_login(user)
        return client

    return as_


def queries_of(client, path: str) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return [q["sql"] for q in captured.captured_queries], response


def rows_shown(response) -> int | None:
    """Rows on the page: the changelist's, the purchase list's lines (None: not a list)."""
    context = response.context or {}
    if context.get("cl") is not None:
        return len(context["cl"].result_list)
    if context.get("result") is not None and hasattr(context["result"], "lines"):
        return len(context["result"].lines)
    return None


def shape(sql: str) -> str:
    """A statement with its values left out: the same lookup for another row reads the same."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", sql)


def repeated(before: list[str], after: list[str]) -> str:
    """The statements the second render ran more often than the first, with how many more."""
    extra = Counter(map(shape, after)) - Counter(map(shape, before))
    return "\n".join(f"+{n}× {sql[:400]}" for sql, n in extra.most_common(6))


def assert_constant(client, page_path: str, seed, few=FEW, more=MORE):
    seed(few)
    client.get(page_path)  # warm caches (content types, site) that a first request fills once
    before, response = queries_of(client, page_path)
    shown_before = rows_shown(response)
    seed(more)
    after, response = queries_of(client, page_path)
    shown_after = rows_shown(response)
    if shown_before is not None:
        assert shown_after > shown_before, (
            f"{page_path}: the page should show more rows ({shown_before} → {shown_after})"
        )
    assert len(after) <= len(before), (
        f"{page_path}: {len(before)} queries with {shown_before or few} rows, {len(after)} with "
        f"{shown_after or few + more}; repeated:\n{repeated(before, after)}"
    )
    return len(before), len(after)


@pytest.mark.parametrize(
    ("page", "who"), [(p, who) for p in PAGES for who in p.users], ids=lambda v: v.name if isinstance(v, Page) else v
)
def test_list_queries_do_not_grow_with_its_rows(login, page, who):
    assert_constant(login(who), page.path(), page.seed)


def test_every_registered_admin_is_covered():
    registered = {model._meta.label for model in admin.site._registry}
    covered = {label for page in PAGES for label in page.models} | SINGLETONS
    assert registered - covered == set(), "a registered admin without a query-count test"


# --- change pages and their inlines --------------------------------------------------------------
def product_history(p: Product):
    def seed(n):
        user = a_user()
        import_run = ImportRun.objects.create(started_at=now(), status=RunStatus.SUCCESS)
        for _ in range(n):
            pricing_run = PricingRun.objects.create(started_at=now(), status=RunStatus.SUCCESS, cause="recompute")
            SalePriceChange.objects.create(
                product=p, old_price=1, new_price=2, cause="recompute", user=a_user(), run=pricing_run
            )
            ProductChange.objects.create(
                product=p, field="stock", old_value=1, new_value=2, changed_at=now(), run=import_run
            )
            ProductChange.objects.create(
                product=p,
                field="dealer_price",
                old_value=1,
                new_value=2,
                changed_at=now(),
                run=ImportRun.objects.create(started_at=now(), status=RunStatus.SUCCESS),
            )
            run = UploadRun.objects.create(started_at=now(), status=RunStatus.SUCCESS, user=user)
            batch = UploadBatch.objects.create(run=run, number=1)
            CardOutcome.objects.create(batch=batch, product=p, sku=f"AS{p.article}", outcome="error", at=now())

    return seed


def order_history(o: Order):
    def seed(n):
        for k in range(n):
            p = product()
            entry = OrderEntry.objects.create(
                order=o,
                kaspi_id=f"{o.code}-x{next(_seq)}",
                entry_number=10 + o.entries.count(),
                sku=f"AS{p.article}",
                product=p,
                name=p.name,
                quantity=Decimal(1),
                base_price=Decimal(1000),
                total_price=Decimal(1000),
                dealer_price_at_order=900,
                commission_percent_at_order=Decimal(12),
            )
            Purchase.objects.create(
                order=o,
                entry=entry,
                product=p,
                article=p.article,
                quantity=1,
                unit_price=900,
                document=f"РН-{k}",
                recorded_at=now(),
                recorded_by=a_user(),
            )
            OrderEvent.objects.create(order=o, at=now(), source="user", user=a_user(), to_status=o.status)

    return seed


def alert_deliveries(alert: Alert):
    def seed(n):
        for _ in range(n):
            user = a_user()
            Delivery.objects.create(
                alert=alert, channel="email", address=f"{user.username}@example.kz", user=user, next_attempt_at=now()
            )

    return seed


def mapping_attributes(mapping: CategoryMapping):
    def seed(n):
        for _ in range(n):
            attribute = KaspiAttribute.objects.create(
                category=mapping.kaspi_category, code=f"A{next(_seq)}", type="enum", position=next(_seq)
            )
            for value in ("Да", "Нет"):
                KaspiAttributeValue.objects.create(attribute=attribute, code=f"{value}{next(_seq)}", name=value)
            AttributeMapping.objects.create(mapping=mapping, attribute=attribute)

    return seed


def upload_batches(run: UploadRun):
    def seed(n):
        for _ in range(n):
            UploadBatch.objects.create(run=run, number=next(_seq), status="finished")

    return seed


def rule_bands(rule: PriceRule):
    def seed(n):
        for _ in range(n):
            low = next(_seq) * 1000
            PriceBand.objects.create(rule=rule, low=low, high=low + 500, markup_percent=10)

    return seed


def feed_stores_and_cities(_):
    def seed(n):
        feed = feed_settings()
        for _ in range(n):
            i = next(_seq)
            feed.stores.create(store_id=f"PP{i}", position=feed.stores.count())
            FeedCity.objects.create(feed=feed, city_id=f"75{i}", name="Астана", position=feed.cities.count())

    return seed


def a_product():
    p = product()
    ProductCard.objects.create(product=p, status=CardStatus.NOT_READY, reasons=[{"code": "no_images"}])
    PriceOverride.objects.create(product=p, price=999, created_by=a_user())
    return p


def a_mapping():
    mapping = CategoryMapping.objects.create(alstyle_category=category(), kaspi_category=kaspi_category())
    return mapping


CHANGE_PAGES = {
    "catalog.Product": (a_product, product_history),
    "orders.Order": (lambda: order(), order_history),
    "alerts.Alert": (
        lambda: Alert.objects.create(kind="job_failed", key=f"k{next(_seq)}", title="t", created_at=now()),
        alert_deliveries,
    ),
    "cards.CategoryMapping": (a_mapping, mapping_attributes),
    "cards.UploadRun": (lambda: UploadRun.objects.create(started_at=now(), status=RunStatus.SUCCESS), upload_batches),
    "catalog.PriceRule": (lambda: PriceRule.objects.create(category=category(), markup_percent=3), rule_bands),
    "feeds.FeedSettings": (feed_settings, feed_stores_and_cities),
    "orders.AutoAcceptSettings": (AutoAcceptSettings.load, lambda _: lambda n: autoaccept_rules(n)),
}


@pytest.mark.parametrize(
    ("label", "who"), [*((label, "superuser") for label in CHANGE_PAGES), ("orders.Order", "staff")]
)
def test_change_page_queries_do_not_grow_with_its_inline_rows(login, label, who):
    make, seed_for = CHANGE_PAGES[label]
    obj = make()
    app, model = label.split(".")
    assert_constant(login(who), reverse(f"admin:{app}_{model.lower()}_change", args=[obj.pk]), seed_for(obj))
