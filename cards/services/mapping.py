"""The mapping as a file: `card_mapping export|import FILE.json` (a stable interface).

    {"categories": [{"alstyle_category": <Al-Style category id>, "kaspi_category": "Master - ...",
                     "attributes": [{"code": "<Kaspi attribute code>", "property": "<Al-Style property name>"}
                                    | {"code": "...", "value": <fixed value>}]}]}

Import is all-or-nothing: every problem of the file is collected and reported, and nothing is
written unless there is none. It replaces the whole mapping (attributes included) of the
categories it names and leaves the others alone. It refuses unknown Al-Style categories, unknown
Kaspi categories (after one refresh of Kaspi's list, in case the cache is behind), unknown
attribute codes (the category's attributes are loaded first if they never were) and fixed values
that cannot be converted to the attribute's type or are not among an enum's allowed values.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import Category

from ..convert import ConversionError, convert
from ..kaspi_content import ContentApiError, KaspiContentClient
from ..models import AttributeMapping, AttributeSource, CategoryMapping, KaspiAttribute, KaspiCategory
from ..selectors import allowed_values
from .classification import add_empty_rows, load_attributes, refresh_categories


class MappingFileError(ValueError):
    """The file cannot be imported; `problems` lists every reason, in words."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def export_mapping() -> dict:
    categories = []
    mappings = CategoryMapping.objects.select_related("kaspi_category").prefetch_related("attributes__attribute")
    for mapping in mappings.order_by("alstyle_category_id"):
        attributes = []
        for row in sorted(mapping.attributes.all(), key=lambda r: (r.attribute.position, r.attribute.code)):
            if row.source == AttributeSource.EMPTY:
                continue
            if row.source == AttributeSource.PROPERTY:
                attributes.append({"code": row.attribute.code, "property": row.property_name})
            else:
                attributes.append({"code": row.attribute.code, "value": row.value})
        categories.append(
            {
                "alstyle_category": mapping.alstyle_category_id,
                "kaspi_category": mapping.kaspi_category.code,
                "attributes": attributes,
            }
        )
    return {"categories": categories}


def _entries(data) -> list:
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise MappingFileError([_('the file must be a JSON object with a "categories" list')])
    return data["categories"]


def import_mapping(data, *, user: str = "", client: KaspiContentClient | None = None) -> dict[str, int]:
    entries = _entries(data)
    problems: list[str] = []
    plans = []
    seen_categories = set()
    codes = {str(e.get("kaspi_category") or "") for e in entries if isinstance(e, dict)}
    kaspi = {c.code: c for c in KaspiCategory.objects.filter(code__in=codes)}
    if codes - set(kaspi):
        try:  # the cache may be behind Kaspi (or empty on a fresh install): look once
            refresh_categories(client := client or KaspiContentClient())
            kaspi = {c.code: c for c in KaspiCategory.objects.filter(code__in=codes)}
        except ContentApiError as exc:
            problems.append(_("Kaspi's category list could not be read to check the file: %(error)s") % {"error": exc})
    alstyle = set(Category.objects.values_list("id", flat=True))
    for number, entry in enumerate(entries, start=1):
        where = _("category entry %(n)d") % {"n": number}
        if not isinstance(entry, dict):
            problems.append(_("%(where)s: not an object") % {"where": where})
            continue
        alstyle_id, code = entry.get("alstyle_category"), str(entry.get("kaspi_category") or "")
        if not isinstance(alstyle_id, int) or isinstance(alstyle_id, bool) or alstyle_id not in alstyle:
            problems.append(_("%(where)s: unknown Al-Style category %(id)r") % {"where": where, "id": alstyle_id})
            continue
        where = _("Al-Style category %(id)d") % {"id": alstyle_id}
        if alstyle_id in seen_categories:
            problems.append(_("%(where)s: named twice") % {"where": where})
            continue
        seen_categories.add(alstyle_id)
        category = kaspi.get(code)
        if category is None:
            problems.append(_("%(where)s: unknown Kaspi category %(code)r") % {"where": where, "code": code})
            continue
        if category.attributes_loaded_at is None:
            try:
                load_attributes(category, client or KaspiContentClient())
            except ContentApiError as exc:
                problems.append(
                    _("%(where)s: the attributes of %(code)s could not be read: %(error)s")
                    % {"where": where, "code": code, "error": exc}
                )
                continue
        attributes = {a.code: a for a in KaspiAttribute.objects.filter(category=category)}
        enums = allowed_values(a.pk for a in attributes.values())
        rows, seen_codes = [], set()
        items = entry.get("attributes", [])
        if not isinstance(items, list):
            problems.append(_('%(where)s: "attributes" must be a list') % {"where": where})
            continue
        for item in items:
            plan = _attribute_row(item, attributes, enums, where, problems, seen_codes)
            if plan is not None:
                rows.append(plan)
        plans.append((alstyle_id, category, rows))
    if problems:
        raise MappingFileError(problems)
    with transaction.atomic():
        for alstyle_id, category, rows in plans:
            mapping, _created = CategoryMapping.objects.update_or_create(
                alstyle_category_id=alstyle_id, defaults={"kaspi_category": category, "updated_by": user}
            )
            mapping.attributes.all().delete()
            AttributeMapping.objects.bulk_create([AttributeMapping(mapping=mapping, **row) for row in rows])
            add_empty_rows(mapping)
    mapping_changed()
    return {"categories": len(plans), "attributes": sum(len(rows) for _a, _c, rows in plans)}


def _attribute_row(item, attributes, enums, where, problems, seen_codes) -> dict | None:
    if not isinstance(item, dict) or not isinstance(item.get("code"), str):
        problems.append(_('%(where)s: every attribute needs a "code"') % {"where": where})
        return None
    code = item["code"]
    attribute = attributes.get(code)
    if attribute is None:
        problems.append(_("%(where)s: unknown Kaspi attribute code %(code)r") % {"where": where, "code": code})
        return None
    if code in seen_codes:
        problems.append(_("%(where)s: attribute %(code)r named twice") % {"where": where, "code": code})
        return None
    seen_codes.add(code)
    has_property, has_value = "property" in item, "value" in item
    if has_property == has_value:
        problems.append(
            _('%(where)s: attribute %(code)r needs either "property" or "value"') % {"where": where, "code": code}
        )
        return None
    if has_property:
        name = item["property"]
        if not isinstance(name, str) or not name.strip():
            problems.append(
                _("%(where)s: attribute %(code)r: the property name is empty") % {"where": where, "code": code}
            )
            return None
        return {"attribute": attribute, "source": AttributeSource.PROPERTY, "property_name": " ".join(name.split())}
    problem = fixed_value_problem(attribute, item["value"], enums.get(attribute.pk, ({}, ())))
    if problem:
        problems.append(
            _("%(where)s: attribute %(code)r: %(problem)s") % {"where": where, "code": code, "problem": problem}
        )
        return None
    return {"attribute": attribute, "source": AttributeSource.VALUE, "value": item["value"]}


def fixed_value_problem(attribute: KaspiAttribute, value, enum: tuple[dict, tuple]) -> str:
    """Why a fixed value cannot fill this attribute ("" when it can)."""
    from ..reasons import describe

    try:
        convert(attribute.type, attribute.multi_valued, value, enum[0], enum[1])
    except ConversionError as exc:
        if exc.kind == "empty":
            return _("the value is empty")
        details = {"attribute": attribute.short_name, "value": str(exc.value)[:200]}
        if exc.kind == "enum":
            details.update(allowed=list(exc.allowed[:20]), more=max(0, len(exc.allowed) - 20))
        return describe({"code": exc.kind, **details})
    return ""


def mapping_changed(category_ids=None, *, triggered_by: str = "") -> None:
    """After a mapping changed: read the properties it needs, then recompute readiness (queued
    once the transaction commits)."""
    from ..refresh import queue_refresh
    from .properties import queue_properties

    queue_refresh()
    queue_properties(category_ids, triggered_by=triggered_by)
