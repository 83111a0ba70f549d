"""Reads of the catalog used by other apps (feeds, orders), by pricing and by the admin.

Stable contracts (other apps rely on them; keep the signatures):
- `publishable_products()`: what the price list needs, one dict per product, in article order,
  streamed (iterator), never loading model instances. Keys: id, article, name, brand__name,
  sale_price (int), stock (int), stock_qualifier, warehouse_stock (dict),
  publish_min_stock (int: below it the product is published as unavailable).
- `lowest_publishable_price()`: the lowest sale price the feed would publish (None: none).
- `commission_percent_for_products(product_ids)`: {product_id: Decimal percent} of the Kaspi
  commission that pricing applies to each product (used by orders for margins).
- `last_stock_read_started()`: when the newest successful import started (a stock reservation for
  goods bought before that is released: Al-Style's stock figure already shows them gone).
- `margin_floors_for_products(product_ids)`: {product_id: (minimum margin ₸, minimum margin %)}
  of the rule pricing each product (used by the purchase list's warnings).
"""

from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from kaspisync.models import RunStatus

from .models import (
    Category,
    CommissionRate,
    FeedExclusion,
    ImportKind,
    ImportRun,
    PriceBand,
    PriceOverride,
    PriceRule,
    PricingAudit,
    Product,
    SalePriceChange,
)
from .pricing import engine

DEFAULT_COMMISSION_PERCENT = Decimal(settings.KASPI_DEFAULT_COMMISSION_PERCENT)
ID_CHUNK = 900  # ids per `IN (...)`: SQLite caps the number of query parameters

# What a recompute reads per product: the engine's inputs, then the stored results to compare.
PRICING_INPUT_FIELDS = (
    "id",
    "category_id",
    "brand_id",
    "dealer_price",
    "retail_price",
    "rrp",
    "unsellable_reason",
    "is_active",
)
PRICING_RESULT_FIELDS = (
    "sale_price",
    "price_rule_id",
    "price_explanation",
    "net_margin",
    "net_margin_percent",
    "below_margin_floor",
    "feed_excluded",
    "publish_min_stock",
)


# What any price could sell (the engine prices nothing without a dealer price above zero).
SELLABLE = Q(unsellable_reason="", dealer_price__gt=0)


def _publishable():
    return Product.objects.filter(is_active=True, sale_price__isnull=False, feed_excluded=False, unsellable_reason="")


def lowest_publishable_price() -> int | None:
    return _publishable().aggregate(low=Min("sale_price"))["low"]


def publishable_products():
    """Products the feed may list: active, sellable, priced, not excluded from the feed."""
    return (
        _publishable()
        .order_by("article")
        .values(
            "id",
            "article",
            "name",
            "brand__name",
            "sale_price",
            "stock",
            "stock_qualifier",
            "warehouse_stock",
            "publish_min_stock",
        )
        .iterator(chunk_size=5000)
    )


def unsellable(products):
    """Those of `products` (a queryset) that no price can make sellable: no dealer price, or the
    supplier does not sell them."""
    return products.exclude(SELLABLE)


def dashboard_status() -> dict:
    """The catalog at a glance for the admin dashboard: last runs, products, pricing gaps."""
    sellable = Q(is_active=True) & SELLABLE
    counts = Product.objects.aggregate(
        active=Count("pk", filter=Q(is_active=True)),
        sellable=Count("pk", filter=sellable),
        unpriced=Count("pk", filter=sellable & Q(sale_price__isnull=True)),
        below_floor=Count("pk", filter=Q(is_active=True, below_margin_floor=True)),
    )
    runs = ImportRun.objects.order_by("-started_at", "-pk")
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        **counts,
        "price_changes_today": SalePriceChange.objects.filter(changed_at__gte=midnight).count(),
        "today": midnight.date(),
        "last_full": runs.filter(kind=ImportKind.FULL).first(),
        "last_quick": runs.filter(kind=ImportKind.QUICK).first(),
        "has_global_rule": PriceRule.objects.filter(is_active=True, category=None, brand=None, product=None).exists(),
    }


def last_stock_read_started():
    """When the newest successful import (full or quick: both read every product's stock) started;
    None before the first. Stock figures stored since then include what Al-Style sold until then."""
    return ImportRun.objects.filter(status=RunStatus.SUCCESS).aggregate(at=Max("started_at"))["at"]


def product_values(product_ids, *fields) -> list[tuple]:
    """(id, *fields) of these products: `product_ids` a queryset of ids (one query, however many
    they are) or ids (ID_CHUNK a query)."""
    if isinstance(product_ids, QuerySet):
        return list(Product.objects.filter(pk__in=product_ids).values_list("pk", *fields))
    ids, rows = list(product_ids), []
    for start in range(0, len(ids), ID_CHUNK):
        rows += Product.objects.filter(pk__in=ids[start : start + ID_CHUNK]).values_list("pk", *fields)
    return rows


def commission_percent_for_products(product_ids) -> dict:
    """{product id: commission percent}: the rate of the deepest category with one, else the
    default. `product_ids`: ids, or a queryset of ids (product_values)."""
    rows = product_values(product_ids, "category_id")
    if not rows:
        return {}
    book = pricing_book(commissions_only=True)
    return {pk: book.commission_for(category_id) for pk, category_id in rows}


def commission_percent_by_category() -> tuple[Decimal, dict[int, Decimal]]:
    """(the default percent, {category id: percent} of every category whose rate is not the
    default): `commission_percent_for_products` for a product in that category (none: the default),
    for reads that work out the commission in the database."""
    book = pricing_book(commissions_only=True)
    rates = {cid: book.commission_for(cid) for cid in book.ancestors}
    return book.default_commission, {cid: rate for cid, rate in rates.items() if rate != book.default_commission}


def margin_floors_for_products(product_ids) -> dict:
    """{product id: (minimum net margin ₸, minimum net margin % of the price)} of the rule that
    prices each product now ((0, 0) where no rule applies: break-even). `product_ids`: ids, or a
    queryset of ids (product_values)."""
    rows = product_values(product_ids, "category_id", "brand_id")
    if not rows:
        return {}
    book = pricing_book()
    floors = {}
    for pk, category_id, brand_id in rows:
        rule = book.rule_for(engine.ProductIn(pk, category_id, brand_id, None))
        floors[pk] = (rule.min_margin, rule.min_margin_percent) if rule else (0, Decimal(0))
    return floors


# --- the pricing engine's inputs ------------------------------------------------------------
def category_ancestors() -> dict[int, tuple[int, ...]]:
    """{category id: (itself, parent, ..., root)} from the parent links (cycles cut)."""
    parents = dict(Category.objects.values_list("id", "parent_id"))
    result = {}
    for cid in parents:
        chain, seen, node = [], set(), cid
        while node is not None and node not in seen and node in parents:
            seen.add(node)
            chain.append(node)
            node = parents[node]
        result[cid] = tuple(chain)
    return result


def rule_spec(rule: PriceRule, bands=None) -> engine.Rule:
    bands = rule.bands.all() if bands is None else bands
    return engine.Rule(
        id=rule.pk,
        label=rule.label,
        percent=rule.markup_percent,
        fixed=rule.markup_fixed,
        bands=tuple(engine.Band(b.low, b.high, b.markup_percent, b.markup_fixed) for b in bands),
        step=rule.rounding_step,
        mode=rule.rounding_mode,
        ending=rule.rounding_ending,
        min_margin=rule.min_margin,
        min_margin_percent=rule.min_margin_percent,
        cap=rule.cap,
        min_stock=rule.publish_min_stock,
    )


def pricing_book(now=None, commissions_only: bool = False) -> engine.Book:
    """Every rule, rate, exclusion and override, loaded once into the engine's `Book`."""
    commissions = dict(CommissionRate.objects.values_list("category_id", "percent"))
    book = engine.Book(
        now=now or timezone.now(),
        default_commission=commissions.pop(None, DEFAULT_COMMISSION_PERCENT),
        commissions=commissions,
        ancestors=category_ancestors(),
    )
    if commissions_only:
        return book
    rules = (
        PriceRule.objects.filter(is_active=True)
        .select_related("category", "brand", "product")
        .prefetch_related(Prefetch("bands", queryset=PriceBand.objects.order_by("low")))
    )
    for rule in rules:
        spec = rule_spec(rule)
        if rule.product_id:
            book.product_rules[rule.product_id] = spec
        elif rule.brand_id and rule.category_id:
            book.brand_category_rules[(rule.brand_id, rule.category_id)] = spec
        elif rule.category_id:
            book.category_rules[rule.category_id] = spec
        elif rule.brand_id:
            book.brand_rules[rule.brand_id] = spec
        else:
            book.global_rule = spec
    exclusions = list(FeedExclusion.objects.values_list("category_id", "brand_id", "product_id"))
    book.excluded_categories = frozenset(c for c, _, _ in exclusions if c is not None)
    book.excluded_brands = frozenset(b for _, b, _ in exclusions if b is not None)
    book.excluded_products = frozenset(p for _, _, p in exclusions if p is not None)
    # Expiry times in local (Asia/Almaty) time: the explanation prints them.
    book.overrides = {
        pid: engine.Override(price, expires and timezone.localtime(expires))
        for pid, price, expires in PriceOverride.objects.values_list("product_id", "price", "expires_at")
    }
    return book


def pricing_rows(product_ids=None):
    """(engine input, stored results tuple) per product, streamed in id order."""
    fields = (*PRICING_INPUT_FIELDS, *PRICING_RESULT_FIELDS)
    qs = Product.objects.order_by("id").values_list(*fields)
    if product_ids is None:
        chunks = [qs.iterator(chunk_size=5000)]
    else:
        ids = sorted(set(product_ids))
        chunks = (qs.filter(pk__in=ids[i : i + ID_CHUNK]) for i in range(0, len(ids), ID_CHUNK))
    n = len(PRICING_INPUT_FIELDS)
    for chunk in chunks:
        for row in chunk:
            yield engine.ProductIn(*row[:n]), row[n:]


def products_in_scope(category_id=None, brand_id=None, product_id=None) -> list[int] | None:
    """Ids of the products a rule, rate or exclusion with this scope can touch (None: all)."""
    if product_id is not None:
        return [product_id]
    if category_id is None and brand_id is None:
        return None
    qs = Product.objects.all()
    if category_id is not None:
        subtree = [cid for cid, chain in category_ancestors().items() if category_id in chain]
        qs = qs.filter(category_id__in=subtree)
    if brand_id is not None:
        qs = qs.filter(brand_id=brand_id)
    return list(qs.values_list("pk", flat=True))


def pricing_audit_of(obj, limit: int = 20) -> list[PricingAudit]:
    """The latest audit entries of one rule, commission or exclusion."""
    if obj is None or obj.pk is None:
        return []
    return list(
        PricingAudit.objects.filter(object_type=obj._meta.model_name, object_id=obj.pk).select_related("user")[:limit]
    )
