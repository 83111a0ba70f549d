"""Why a product is not ready, in words: `describe(reason)` for one stored reason dict."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def _allowed(details: dict) -> str:
    names = ", ".join(f"«{name}»" for name in details.get("allowed") or ())
    more = details.get("more") or 0
    if more:
        names += " " + ngettext("and %(n)d more", "and %(n)d more", more) % {"n": more}
    return names or "—"


def describe(reason: dict) -> str:
    code = reason.get("code")
    d = {k: v for k, v in reason.items() if k != "code"}
    texts = {
        "inactive": lambda: _("the supplier no longer lists this product"),
        "category_not_listed": lambda: _("Kaspi no longer lists the category %(category)s: map another one") % d,
        "attributes_not_loaded": lambda: (
            _("the attributes of the Kaspi category %(category)s are not loaded yet: refresh it on the mapping page")
            % d
        ),
        "bad_sku": lambda: _("the SKU «%(sku)s» is not usable (1 to 64 characters)") % d,
        "no_title": lambda: _("the product has no name"),
        "title_too_long": lambda: _("the title is too long: %(length)d characters, at most %(limit)d") % d,
        "no_brand": lambda: _("no brand"),
        "brand_too_long": lambda: _("the brand is too long: %(length)d characters, at most %(limit)d") % d,
        "no_image": lambda: _("no image (Kaspi needs at least one http or https picture)"),
        "properties_not_loaded": lambda: _("the product's Al-Style properties have not been read yet"),
        "mandatory_missing": lambda: (
            _("mandatory attribute «%(attribute)s» has no value (Al-Style property «%(property)s» is missing)") % d
            if d.get("property")
            else _("mandatory attribute «%(attribute)s» has no value (it is not mapped)") % d
        ),
        "number": lambda: _("value «%(value)s» of «%(attribute)s» is not a number") % d,
        "boolean": lambda: _("value «%(value)s» of «%(attribute)s» is not yes or no") % d,
        "enum": lambda: (
            _("value «%(value)s» is not allowed for «%(attribute)s»; allowed: %(allowed)s")
            % {**d, "allowed": _allowed(d)}
        ),
        "text_too_long": lambda: _("value of «%(attribute)s» is longer than 256 characters") % d,
        "too_many_values": lambda: _("«%(attribute)s» has more than 32 values") % d,
        "no_attributes": lambda: _("no attribute has a value (Kaspi needs at least one)"),
        "category_without_attributes": lambda: (
            _(
                "Kaspi declares no attributes for the category %(category)s: it is probably not a leaf "
                "category (Kaspi takes cards only in those); map a more specific one"
            )
            % d
        ),
        "too_many_attributes": lambda: _("too many attributes: %(count)d, at most %(limit)d") % d,
        "schema": lambda: _("the card does not match Kaspi's schema: %(message)s") % d,
    }
    text = texts.get(code)
    if text is None:
        return str(code)
    try:
        return text()
    except (KeyError, TypeError, ValueError):  # a reason stored by an older version
        return str(code)


def describe_all(reasons) -> list[str]:
    return [describe(r) for r in reasons or () if isinstance(r, dict)]
