"""Reads used by the readiness service, the uploads and the admin.

- `mapped_specs()`: {Al-Style category id: (CategoryMapping id, CategorySpec)} for every Al-Style
  category covered by a mapping: a mapped category's subtree, unless a deeper one is mapped.
- `product_rows(product_ids)`, `category_product_rows(category_ids, first, last)`: the product
  fields a card is built from with the product's Al-Style properties, in one query (JSON read by
  orjson); `product_ids_in(category_ids)`.
- `status_counts()`: products per card status, per mapping.
"""

from collections import defaultdict

import orjson
from django.db.models import Count, TextField
from django.db.models.functions import Cast

from catalog.models import Product
from catalog.selectors import category_ancestors

from .card import AttributeRule, CategorySpec, ProductRow
from .convert import enum_key
from .models import (
    AlstyleProperties,
    AttributeSource,
    AttributeType,
    CategoryMapping,
    KaspiAttribute,
    KaspiAttributeValue,
    ProductCard,
)

# The product fields a card is built from (ProductRow's order) and its Al-Style properties. The
# JSON columns are read as text and decoded by orjson: Django's JSONField decodes with json,
# the largest cost of reading 50,000 rows.
ROW_FIELDS = (
    "id",
    "article",
    "name",
    "brand__name",
    "description",
    "weight",
    "images_json",
    "is_active",
    "category_id",
)
_JSON_AS_TEXT = {
    "images_json": Cast("images", TextField()),
    "properties_json": Cast("alstyle_properties__values", TextField()),
}


def allowed_values(attribute_ids) -> dict[int, tuple[dict, tuple]]:
    """{attribute id: ({enum_key(name or code): code}, names as staff read them)}."""
    by_attribute: dict[int, list] = defaultdict(list)
    for attribute_id, code, name in KaspiAttributeValue.objects.filter(
        attribute_id__in=list(attribute_ids)
    ).values_list("attribute_id", "code", "name"):
        by_attribute[attribute_id].append((code, name))
    result = {}
    for attribute_id, values in by_attribute.items():
        lookup = {}
        for code, _name in values:
            lookup.setdefault(enum_key(code), code)
        for code, name in values:
            if name:
                lookup.setdefault(enum_key(name), code)
        result[attribute_id] = (lookup, tuple(name or code for code, name in values))
    return result


def mapping_specs() -> dict[int, CategorySpec]:
    """{CategoryMapping id: CategorySpec}, every attribute of the Kaspi category with its rule."""
    mappings = list(CategoryMapping.objects.select_related("kaspi_category").prefetch_related("attributes"))
    category_ids = {m.kaspi_category_id for m in mappings}
    attributes: dict[int, list[KaspiAttribute]] = defaultdict(list)
    for attribute in KaspiAttribute.objects.filter(category_id__in=category_ids).order_by("position", "id"):
        attributes[attribute.category_id].append(attribute)
    enums = allowed_values(a.pk for rows in attributes.values() for a in rows if a.type == AttributeType.ENUM)
    specs = {}
    for mapping in mappings:
        by_attribute = {am.attribute_id: am for am in mapping.attributes.all()}
        rules = []
        for attribute in attributes[mapping.kaspi_category_id]:
            chosen = by_attribute.get(attribute.pk)
            allowed, names = enums.get(attribute.pk, ({}, ()))
            rules.append(
                AttributeRule(
                    code=attribute.code,
                    name=attribute.short_name,
                    kind=attribute.type,
                    multi_valued=attribute.multi_valued,
                    mandatory=attribute.mandatory,
                    source=chosen.source if chosen else "",
                    property_name=chosen.property_name if chosen and chosen.source == AttributeSource.PROPERTY else "",
                    fixed=chosen.value if chosen and chosen.source == AttributeSource.VALUE else None,
                    allowed=allowed,
                    names=names,
                )
            )
        kaspi = mapping.kaspi_category
        specs[mapping.pk] = CategorySpec(
            kaspi_code=kaspi.code,
            title=kaspi.title,
            listed=kaspi.is_active,
            attributes_loaded=kaspi.attributes_loaded_at is not None,
            rules=tuple(rules),
        )
    return specs


def covering_mappings() -> dict[int, int]:
    """{Al-Style category id: id of the CategoryMapping that applies to it} (the nearest mapped
    category on its way to the root: a deeper mapping wins over its ancestors')."""
    mapped = dict(CategoryMapping.objects.values_list("alstyle_category_id", "pk"))
    if not mapped:
        return {}
    result = {}
    for category_id, chain in category_ancestors().items():
        for node in chain:
            if node in mapped:
                result[category_id] = mapped[node]
                break
    return result


def mapped_specs() -> dict[int, tuple[int, CategorySpec]]:
    specs = mapping_specs()
    return {category_id: (mapping_id, specs[mapping_id]) for category_id, mapping_id in covering_mappings().items()}


def _rows_with_properties(qs) -> list[tuple[ProductRow, dict | None]]:
    """[(ProductRow, its Al-Style properties or None when never read)] of this queryset."""
    loads, result = orjson.loads, []
    for *fields, properties in qs.annotate(**_JSON_AS_TEXT).values_list(*ROW_FIELDS, "properties_json"):
        fields[6] = loads(fields[6]) if fields[6] else None  # images
        result.append((ProductRow(*fields), loads(properties) if properties else None))
    return result


def product_rows(product_ids) -> list[tuple[ProductRow, dict | None]]:
    """These products (one query: pass at most a few thousand ids), by id."""
    return _rows_with_properties(Product.objects.filter(pk__in=list(product_ids)).order_by("id"))


def category_product_rows(category_ids, first: int, last: int) -> list[tuple[ProductRow, dict | None]]:
    """The products of these categories whose ids are from `first` to `last`, by id (a range
    instead of thousands of ids: cheaper to send and to plan)."""
    qs = Product.objects.filter(category_id__in=list(category_ids), id__gte=first, id__lte=last)
    return _rows_with_properties(qs.order_by("id"))


def product_ids_in(category_ids) -> list[int]:
    """Ids of the products of these categories, ascending."""
    return list(Product.objects.filter(category_id__in=list(category_ids)).order_by("id").values_list("id", flat=True))


def status_counts() -> dict[int, dict[str, int]]:
    """{CategoryMapping id: {card status: products}} for the mapping page."""
    covering = covering_mappings()
    result: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        ProductCard.objects.filter(product__category_id__in=list(covering))
        .values_list("product__category_id", "status")
        .annotate(n=Count("id"))
    )
    for category_id, status, n in rows:
        result[covering[category_id]][status] += n
    return {k: dict(v) for k, v in result.items()}


def categories_needing_properties() -> dict[int, list[int]]:
    """{CategoryMapping id: Al-Style category ids with products} for mappings that read properties."""
    specs = mapping_specs()
    wanted = {mid for mid, spec in specs.items() if spec.needs_properties}
    covering = {cid: mid for cid, mid in covering_mappings().items() if mid in wanted}
    with_products = set(
        Product.objects.filter(category_id__in=list(covering)).values_list("category_id", flat=True).distinct()
    )
    result: dict[int, list[int]] = defaultdict(list)
    for category_id in sorted(with_products):
        result[covering[category_id]].append(category_id)
    return dict(result)


def status_totals() -> dict[str, int]:
    """{card status: products} over every product with a card row."""
    return dict(ProductCard.objects.values_list("status").order_by().annotate(n=Count("id")))


def property_names(alstyle_category_id: int, limit: int = 60) -> list[tuple[str, int]]:
    """The Al-Style property names read for products of this category's subtree, most frequent
    first, with how many products carry each (what staff pick from when mapping)."""
    subtree = [cid for cid, chain in category_ancestors().items() if alstyle_category_id in chain]
    counts: dict[str, int] = defaultdict(int)
    for values in AlstyleProperties.objects.filter(product__category_id__in=subtree).values_list("values", flat=True):
        for name, value in (values or {}).items():
            if value:
                counts[name] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
