"""`manage.py recompute_prices`: the pricing service in the foreground."""

import pytest
from django.core.management import CommandError, call_command

from catalog.models import PricingRun
from catalog.services.pricing import LOCK_NAME
from kaspisync import locks
from kaspisync.models import RunTrigger

pytestmark = pytest.mark.django_db


def test_recomputes_all_or_the_given_articles(tree, brands, make_product, zero_commission, global_rule, capsys):
    laptop = make_product(tree["laptops"], brands["Acer"], 100_000)
    phone = make_product(tree["phones"], brands["Apple"], 200_000)
    call_command("recompute_prices", article=[laptop.article])
    laptop.refresh_from_db(), phone.refresh_from_db()
    assert (laptop.sale_price, phone.sale_price) == (110_000, None)
    assert "1 products examined" in capsys.readouterr().out

    call_command("recompute_prices")
    phone.refresh_from_db()
    assert phone.sale_price == 220_000
    run = PricingRun.objects.latest("pk")
    assert (run.trigger, run.examined) == (RunTrigger.COMMAND, 2)


def test_unknown_article_and_a_running_recompute_are_errors(make_product, global_rule):
    make_product()
    with pytest.raises(CommandError, match="Unknown article.*424242"):
        call_command("recompute_prices", article=[424242])
    assert locks.acquire(LOCK_NAME) is not None
    with pytest.raises(CommandError, match="another price recompute"):
        call_command("recompute_prices")
