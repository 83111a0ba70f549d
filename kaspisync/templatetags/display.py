"""Template filters over kaspisync.display: `{{ amount|money }}`, `{{ share|percent }}`,
`{{ moment|since }}`."""

from django import template
from django.utils.translation import gettext

from kaspisync import display

register = template.Library()


@register.filter
def money(value):
    return display.money(value)


@register.filter
def signed_money(value):
    return display.money(value, signed=True)


@register.filter
def percent(value, digits=1):
    return display.percent(value, int(digits))


@register.filter
def signed_percent(value, digits=1):
    return display.percent(value, int(digits), signed=True)


@register.filter
def loss_money(value):
    return display.loss_aware_money(value)


@register.filter
def deduction(value):
    """An amount taken away: 1500 -> "−1 500 ₸" (0 stays "0 ₸")."""
    amount = display.whole(value)
    return display.money(None if amount is None else -amount)


@register.filter
def group(value):
    """{{ 7000|group }} -> "7 000" (no-break space): a count as money's digits read."""
    return display.group(int(value)) if value is not None else display.EMPTY


@register.filter
def since(value):
    """{{ run.started_at|since }} -> "5 минут" / "меньше минуты" (for "… ago")."""
    return display.since(value)


@register.simple_tag
def count_of(count, opts, more=False):
    """{% count_of cl.result_count cl.opts %} -> "5 заказов"; with more=True (a count that
    stopped at its cap): "более 1 000 товаров"."""
    text = display.count_of(count, opts.label_lower, opts.verbose_name_plural)
    return gettext("more than %(count)s") % {"count": text} if more else text
