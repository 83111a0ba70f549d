"""How the portal shows values to a person: one function for each kind of value.

Money reads "594 830 ₸": whole tenge, rounded half up (never truncated), digits grouped by three
with a no-break space (U+00A0, the one space used in every amount), a no-break space before the
sign, a real minus for negatives. Percentages read "12,3 %" (the active language's decimal
separator, rounded half up). Exports keep plain numbers and never use these.

Templates use the same functions as filters: `{% load display %}` then `{{ value|money }}`,
`{{ value|percent }}`.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy, pgettext_lazy

NBSP = "\u00a0"
MINUS = "\u2212"
EMPTY = "—"


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def group(number: int) -> str:
    """12345678 -> "12 345 678" (no-break spaces), -5 -> "−5"."""
    text = f"{abs(number):,}".replace(",", NBSP)
    return f"{MINUS}{text}" if number < 0 else text


def whole(value) -> int | None:
    """Whole tenge, rounded half up (1234.5 -> 1235, -0.5 -> -1)."""
    amount = _decimal(value)
    return None if amount is None else int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money(value, *, signed: bool = False) -> str:
    """594830 -> "594 830 ₸"; Decimal("436200.00") -> "436 200 ₸"; None -> "—".
    `signed=True` writes "+" before a positive amount (a change)."""
    amount = whole(value)
    if amount is None:
        return EMPTY
    plus = "+" if signed and amount > 0 else ""
    return f"{plus}{group(amount)}{NBSP}₸"


def percent(value, digits: int = 1, *, signed: bool = False) -> str:
    """Decimal("12.345") -> "12,3 %" (rounded half up, the language's decimal separator)."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    step = Decimal(1).scaleb(-digits)
    number = number.quantize(step, rounding=ROUND_HALF_UP)
    text = formats.number_format(abs(number), digits, use_l10n=True, force_grouping=True)
    sign = MINUS if number < 0 else ("+" if signed and number > 0 else "")
    return f"{sign}{text}{NBSP}%"


def loss_aware_money(value, *, loss: bool | None = None) -> str:
    """Money, in red when it is a loss (negative, or `loss=True`)."""
    amount = whole(value)
    text = money(value)
    if loss or (loss is None and amount is not None and amount < 0):
        return format_html('<span class="ks-loss">{}</span>', text)
    return text


def change(old, new) -> str:
    """ "1 152 590 ₸ → 1 202 690 ₸ (+4,3 %)"; an amount that appears or disappears reads
    "new: …" / "removed: …" through the caller (`old`/`new` None give "—")."""
    old_amount, new_amount = whole(old), whole(new)
    text = f"{money(old_amount)} → {money(new_amount)}"
    if old_amount and new_amount is not None:
        text += f" ({percent(Decimal(new_amount - old_amount) * 100 / old_amount, signed=True)})"
    return text


def when(value) -> str:
    """An aware datetime in Almaty time, in the language's long form ("1 декабря 2026 г. 14:05")."""
    if value is None:
        return EMPTY
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


# "5 заказов", "1 товар": how many rows of a model, for list footers and messages. Models named by
# "app_label.model" (plumbing imports no app); another model reads "5 in all".
NOUNS = {
    "orders.order": ngettext_lazy("%(shown)s order", "%(shown)s orders", "count"),
    "orders.pullrun": ngettext_lazy("%(shown)s order pull", "%(shown)s order pulls", "count"),
    "catalog.product": ngettext_lazy("%(shown)s product", "%(shown)s products", "count"),
    "catalog.category": ngettext_lazy("%(shown)s category", "%(shown)s categories", "count"),
    "catalog.brand": ngettext_lazy("%(shown)s brand", "%(shown)s brands", "count"),
    "catalog.importrun": ngettext_lazy("%(shown)s import run", "%(shown)s import runs", "count"),
    "catalog.pricerule": ngettext_lazy("%(shown)s pricing rule", "%(shown)s pricing rules", "count"),
    "catalog.salepricechange": ngettext_lazy("%(shown)s price change", "%(shown)s price changes", "count"),
    "catalog.pricingrun": ngettext_lazy("%(shown)s price recompute", "%(shown)s price recomputes", "count"),
    "catalog.priceoverride": ngettext_lazy("%(shown)s manual price", "%(shown)s manual prices", "count"),
    "catalog.feedexclusion": ngettext_lazy("%(shown)s exclusion", "%(shown)s exclusions", "count"),
    "catalog.pricingaudit": ngettext_lazy("%(shown)s audit entry", "%(shown)s audit entries", "count"),
    "feeds.feedversion": ngettext_lazy("%(shown)s price list version", "%(shown)s price list versions", "count"),
    "feeds.feedfetch": ngettext_lazy("%(shown)s fetch", "%(shown)s fetches", "count"),
    "auth.user": ngettext_lazy("%(shown)s user", "%(shown)s users", "count"),
    "auth.group": ngettext_lazy("%(shown)s group", "%(shown)s groups", "count"),
}


def since(value, now=None) -> str:
    """How long ago, for "… назад": "5 минут", "2 часа"; under a minute "меньше минуты" (never "0 минут")."""
    if value is None:
        return EMPTY
    now = now or timezone.now()
    if (now - value).total_seconds() < 60:
        return _("less than a minute")
    return timesince(value, now)


def count_of(count: int, model_label: str, plural_name: str = "") -> str:
    """count_of(5, "orders.order") -> "5 заказов"; a model without its own phrase reads by its
    plural name, "Подписки на оповещения: 5" (right for any number), else "всего: 5"."""
    noun = NOUNS.get(model_label.lower())
    if noun is None and plural_name:
        return f"{capfirst(str(plural_name))}: {group(count)}"
    noun = noun or ngettext_lazy("%(shown)s in all", "%(shown)s in all", "count")
    return noun % {"count": count, "shown": group(count)}  # "count" picks the plural form


def duration(value) -> str:
    """A timedelta as "1,2 с" / "3 мин 5 с"; None (still running) as "—"."""
    if value is None:
        return EMPTY
    seconds = value.total_seconds()
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": formats.number_format(round(seconds, 1), 1)}
    minutes, rest = divmod(round(seconds), 60)
    return _("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": rest}


def yes_no(value) -> str:
    if value is None:
        return EMPTY
    return str(_("yes") if value else _("no"))


# Counters that runs record in their `stats` / `skipped` (a JSON object) in words.
FACT_LABELS = {
    "price_changes": gettext_lazy("sale prices changed"),
    "stock_unreadable": gettext_lazy("unreadable stock values"),
    "deactivation_skipped": gettext_lazy("deactivation skipped because"),
    "duplicate_across_pages": gettext_lazy("duplicates across pages"),
    "bad_article": gettext_lazy("unreadable articles"),
    "not_an_object": gettext_lazy("unreadable records"),
    "no_name": gettext_lazy("products without a name"),
    "unknown_article": gettext_lazy("articles not in the catalog"),
    "changed_meanwhile": gettext_lazy("orders changed meanwhile (left for the next pull)"),
    "windows": gettext_lazy("periods read"),
    "sku_lookups": gettext_lazy("SKU look-ups at Kaspi"),
    "entries_fetched": gettext_lazy("order lines read one order at a time"),
    "error_messages": gettext_lazy("error messages"),
    "rematched_entries": gettext_lazy("order lines matched to the catalog again"),
    "reserved_offers": gettext_lazy("offers with stock reserved for orders"),
    "categories": gettext_lazy("Kaspi categories read"),
    "new_categories": gettext_lazy("new categories"),
    "unlisted_categories": gettext_lazy("categories no longer listed"),
    "categories_with_attributes": gettext_lazy("categories with attributes read"),
    "products": gettext_lazy("products read"),
    "with_properties": gettext_lazy("products with properties"),
    "unknown_articles": gettext_lazy("articles not in the catalog"),
    "errors": pgettext_lazy("how many", "validation errors"),
    "stores": gettext_lazy("stores"),
    "cities": gettext_lazy("cities"),
}


def fact_value(value) -> str:
    if isinstance(value, bool) or value is None:
        return yes_no(value)
    if isinstance(value, dict):
        return ", ".join(f"{fact_label(k)}: {fact_value(v)}" for k, v in value.items()) or EMPTY
    if isinstance(value, list | tuple):
        return ", ".join(fact_value(v) for v in value) or EMPTY
    return str(value)


def fact_label(key: str) -> str:
    return str(FACT_LABELS.get(key, str(key).replace("_", " ")))


def facts(mapping) -> str:
    """A run's JSON counters as lines "label: value" (HTML), "—" when empty."""
    shown = {k: v for k, v in (mapping or {}).items() if k != "progress"}  # progress: shown on its own
    if not shown:
        return EMPTY
    return format_html_join(mark_safe("<br>"), "{}: {}", ((fact_label(k), fact_value(v)) for k, v in shown.items()))


def progress(value: dict | None) -> str:
    """A running job's live progress (`stats["progress"]`): a bar when the total is known, the step
    in words, "1 200 of 7 000"."""
    if not value:
        return str(_("starting…"))
    done, total, step = value.get("done"), value.get("total"), value.get("step") or ""
    if done is None:
        return step
    if total:
        return format_html(
            '<progress value="{}" max="{}"></progress> {}: {}',
            done,
            total,
            step,
            _("%(done)s of %(total)s") % {"done": group(done), "total": group(total)},
        )
    return f"{step}: {group(done)}"
