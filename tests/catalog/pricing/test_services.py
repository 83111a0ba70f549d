"""Recompute, history, overrides and their expiry, the import hook, preview = applied result."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import selectors
from catalog.models import (
    CommissionRate,
    FeedExclusion,
    PriceChangeCause,
    PriceOverride,
    PriceRule,
    PricingAudit,
    PricingRun,
    Product,
    SalePriceChange,
)
from catalog.services import hooks, pricing
from catalog.signals import catalog_changed
from kaspisync.models import RunStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced(tree, brands, make_product, zero_commission, global_rule):
    """Four products priced by a 10 % global rule with no commission."""
    products = {
        "laptop": make_product(tree["laptops"], brands["Acer"], 100_000),
        "phone": make_product(tree["phones"], brands["Apple"], 200_000),
        "hose": make_product(tree["garden"], brands["Gardena"], 10_000),
        "no_price": make_product(tree["garden"], None, None, unsellable_reason="no_price"),
    }
    pricing.recompute_prices()
    for product in products.values():
        product.refresh_from_db()
    return products


def test_recompute_stores_price_rule_margin_and_history(priced, global_rule):
    laptop = priced["laptop"]
    assert laptop.sale_price == 110_000
    assert laptop.price_rule == global_rule
    assert laptop.net_margin == 10_000
    assert laptop.net_margin_percent == Decimal("9.09")
    assert "10" in laptop.price_explanation
    assert priced["no_price"].sale_price is None
    history = SalePriceChange.objects.get(product=laptop)
    assert (history.old_price, history.new_price) == (None, 110_000)


def test_a_second_recompute_writes_nothing(priced):
    run = pricing.recompute_prices()
    assert run.status == RunStatus.SUCCESS
    assert (run.examined, run.changed) == (4, 0)
    assert SalePriceChange.objects.count() == 3


def test_rule_change_rewrites_only_affected_products(priced, tree, staff):
    rule = PriceRule.objects.create(category=tree["electronics"], markup_percent=Decimal("20"))
    ids = pricing.affected_products(pricing.snapshot(rule))
    assert sorted(ids) == sorted([priced["laptop"].pk, priced["phone"].pk])
    run = pricing.recompute_prices(ids, cause=PriceChangeCause.RULE, user_id=staff.pk)
    assert run.changed == 2
    assert run.triggered_by == "manager"
    assert Product.objects.get(pk=priced["laptop"].pk).sale_price == 120_000
    assert Product.objects.get(pk=priced["hose"].pk).sale_price == 11_000
    changes = SalePriceChange.objects.filter(cause=PriceChangeCause.RULE)
    assert {(c.product_id, c.old_price, c.new_price, c.user_id) for c in changes} == {
        (priced["laptop"].pk, 110_000, 120_000, staff.pk),
        (priced["phone"].pk, 220_000, 240_000, staff.pk),
    }
    # A full recompute afterwards finds nothing else to write.
    assert pricing.recompute_prices().changed == 0


def test_preview_equals_the_applied_result(priced, tree):
    PriceRule.objects.create(
        category=tree["garden"], markup_percent=Decimal("35"), rounding_step=100, rounding_ending=90, min_margin=5_000
    )
    CommissionRate.objects.create(category=tree["computers"], percent=Decimal("9"))
    preview = pricing.preview_prices()
    assert Product.objects.get(pk=priced["hose"].pk).sale_price == 11_000  # nothing written by the preview
    assert preview.changed == 2
    assert preview.examined == 4
    pricing.recompute_prices()
    applied = {p.pk: p.sale_price for p in Product.objects.filter(pk__in=preview.new_prices)}
    assert applied == preview.new_prices
    assert preview.new_prices[priced["hose"].pk] == 15_090  # floor 15 000 → …90
    assert preview.new_prices[priced["laptop"].pk] == 120_880  # 110 000 / 0.91 = 120 879.1…
    assert (preview.delta["min"], preview.delta["max"]) == (15_090 - 11_000, 120_880 - 110_000)


def test_preview_counts_products_falling_below_the_floor(priced, global_rule):
    PriceRule.objects.create(product=priced["laptop"], markup_percent=Decimal("50"), cap="retail", min_margin=30_000)
    Product.objects.filter(pk=priced["laptop"].pk).update(retail_price=120_000)
    preview = pricing.preview_prices()
    assert preview.below_floor == 1
    assert preview.sample[0]["product"].pk == priced["laptop"].pk
    assert preview.sample[0]["below_floor"]


def test_override_set_and_cleared_with_user_attribution(priced, staff):
    laptop = priced["laptop"]
    pricing.set_override([laptop.pk], 105_000, user=staff)
    laptop.refresh_from_db()
    assert laptop.sale_price == 105_000
    assert laptop.net_margin == 5_000
    pricing.clear_override([laptop.pk], user=staff)
    laptop.refresh_from_db()
    assert laptop.sale_price == 110_000
    causes = list(
        SalePriceChange.objects.filter(product=laptop, user=staff)
        .order_by("id")
        .values_list("cause", "old_price", "new_price")
    )
    assert causes == [
        (PriceChangeCause.OVERRIDE, 110_000, 105_000),
        (PriceChangeCause.OVERRIDE_CLEARED, 105_000, 110_000),
    ]


def test_expired_overrides_revert_with_cause_expiry(priced, staff):
    laptop, phone = priced["laptop"], priced["phone"]
    soon = timezone.now() + timedelta(hours=1)
    pricing.set_override([laptop.pk], 99_000, user=staff, expires_at=soon)
    pricing.set_override([phone.pk], 250_000, user=staff)
    assert pricing.expire_overrides() is None  # nothing expired yet
    run = pricing.expire_overrides(now=soon + timedelta(seconds=1))
    assert run.cause == PriceChangeCause.EXPIRY
    assert run.changed == 1
    laptop.refresh_from_db()
    assert laptop.sale_price == 110_000
    assert not PriceOverride.objects.filter(product=laptop).exists()
    assert Product.objects.get(pk=phone.pk).sale_price == 250_000  # no expiry: kept
    last = SalePriceChange.objects.filter(product=laptop).first()
    assert (last.cause, last.old_price, last.new_price, last.user) == (PriceChangeCause.EXPIRY, 99_000, 110_000, None)


def test_import_hook_reprices_changed_products(priced):
    Product.objects.filter(pk=priced["hose"].pk).update(dealer_price=20_000)
    hooks.after_import(None, [priced["hose"].pk])
    change = SalePriceChange.objects.filter(product=priced["hose"]).first()
    assert (change.cause, change.old_price, change.new_price) == (PriceChangeCause.IMPORT, 11_000, 22_000)


def test_recompute_is_skipped_while_another_holds_the_lock(priced):
    from kaspisync import locks

    with locks.job_lock(pricing.LOCK_NAME):
        run = pricing.recompute_prices()
    assert run.status == RunStatus.SKIPPED
    assert PricingRun.objects.filter(status=RunStatus.SUCCESS).count() == 1


def test_catalog_changed_is_sent_after_commit(priced, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    catalog_changed.connect(receiver)
    try:
        PriceRule.objects.filter(pk=priced["laptop"].price_rule_id).update(markup_percent=Decimal("11"))
        with django_capture_on_commit_callbacks(execute=True):
            pricing.recompute_prices()
            assert received == []  # not before the commit
    finally:
        catalog_changed.disconnect(receiver)
    assert received[0]["reason"] == "pricing"
    assert received[0]["product_count"] == 3


def test_exclusions_commission_and_min_stock_reach_the_selectors(priced, tree, brands, staff):
    PriceRule.objects.create(brand=brands["Apple"], markup_percent=Decimal("10"), publish_min_stock=5)
    CommissionRate.objects.create(category=tree["electronics"], percent=Decimal("8"))
    CommissionRate.objects.create(category=tree["laptops"], percent=Decimal("11.5"))
    FeedExclusion.objects.create(brand=brands["Gardena"])
    pricing.recompute_prices()
    pricing.exclude_products([priced["laptop"].pk], user=staff)
    rows = {row["id"]: row for row in selectors.publishable_products()}
    assert set(rows) == {priced["phone"].pk}
    assert rows[priced["phone"].pk]["publish_min_stock"] == 5
    assert selectors.commission_percent_for_products([priced["laptop"].pk, priced["phone"].pk, priced["hose"].pk]) == {
        priced["laptop"].pk: Decimal("11.5"),
        priced["phone"].pk: Decimal("8"),
        priced["hose"].pk: Decimal("0"),
    }
    pricing.include_products([priced["laptop"].pk], user=staff)
    assert priced["laptop"].pk in {row["id"] for row in selectors.publishable_products()}


def test_expiry_task_is_scheduled_and_reverts(priced, staff, eager_celery):
    from catalog.tasks import expire_price_overrides
    from kaspisync.schedule import beat_schedule

    assert beat_schedule()["catalog-expire-price-overrides"]["task"] == expire_price_overrides.name
    PriceOverride.objects.create(
        product=priced["phone"], price=1_000, created_by=staff, expires_at=timezone.now() - timedelta(minutes=1)
    )
    run_id = expire_price_overrides.delay().get()
    assert PricingRun.objects.get(pk=run_id).cause == PriceChangeCause.EXPIRY
    assert not PriceOverride.objects.exists()


def test_a_lapsed_manual_price_is_recorded_as_an_expiry_whichever_recompute_reverts_it(priced, staff):
    laptop = priced["laptop"]
    pricing.set_override([laptop.pk], 99_000, user=staff, expires_at=timezone.now() + timedelta(hours=1))
    PriceOverride.objects.filter(product=laptop).update(expires_at=timezone.now() - timedelta(minutes=1))
    hooks.after_import(None, [laptop.pk])  # an import's recompute comes before the expiry job
    last = SalePriceChange.objects.filter(product=laptop).first()
    assert (last.cause, last.old_price, last.new_price, last.user) == (PriceChangeCause.EXPIRY, 99_000, 110_000, None)
    run = pricing.expire_overrides()
    assert run.changed == 0
    assert not PriceOverride.objects.filter(product=laptop).exists()
    assert SalePriceChange.objects.filter(product=laptop).count() == 3  # priced, override, expiry: once


def test_a_manual_price_far_below_cost_is_stored_listed_and_recomputed(priced, staff, staff_client):
    laptop = priced["laptop"]  # dealer price 100,000
    pricing.set_override([laptop.pk], 1, user=staff)
    laptop.refresh_from_db()
    assert (laptop.sale_price, laptop.net_margin) == (1, -99_999)
    assert laptop.net_margin_percent == Decimal("-99999.99")
    assert laptop.below_margin_floor  # clamped to the column
    assert staff_client.get("/admin/catalog/product/").status_code == 200
    assert pricing.recompute_prices().status == RunStatus.SUCCESS


def test_the_explanation_gives_the_expiry_in_almaty_time(priced, staff):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    laptop = priced["laptop"]
    until = datetime(2030, 1, 2, 12, 0, tzinfo=ZoneInfo("Asia/Almaty"))
    pricing.set_override([laptop.pk], 105_000, user=staff, expires_at=until)
    laptop.refresh_from_db()
    assert "02.01.2030 12:00" in laptop.price_explanation, laptop.price_explanation


def test_a_daily_full_recompute_is_scheduled_and_repairs_stale_prices(priced, eager_celery):
    from catalog.tasks import recompute_prices as task
    from kaspisync.schedule import beat_schedule

    entry = beat_schedule()["catalog-recompute-prices"]
    assert entry["task"] == task.name
    assert entry["schedule"] == 24 * 60 * 60
    Product.objects.filter(pk=priced["phone"].pk).update(sale_price=1)  # e.g. a recompute that was lost
    run = PricingRun.objects.get(pk=task.apply(kwargs=entry["kwargs"]).get())
    assert (run.trigger, run.changed) == ("schedule", 1)
    assert Product.objects.get(pk=priced["phone"].pk).sale_price == 220_000


def test_the_plan_names_its_values(priced, global_rule):
    global_rule.markup_percent = Decimal("20")
    global_rule.save()
    plan = pricing.plan_prices([priced["laptop"].pk])
    (change,) = plan.changes
    assert change.product_id == priced["laptop"].pk
    assert (change.old.sale_price, change.new.sale_price) == (110_000, 120_000)
    assert change.new.rule_id == global_rule.pk
    assert not change.new.below_floor
    assert change.new.min_stock == 1
    assert plan.price_changes == [(priced["laptop"].pk, 110_000, 120_000)]
    assert plan.price_changes[0].new == 120_000


def test_preview_delete_measures_and_rolls_back(priced, global_rule, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        preview = pricing.preview_delete(global_rule, user=staff)
    assert preview.changed == 3
    assert preview.unpriced == 3  # without the only rule nothing is priced
    assert PriceRule.objects.filter(pk=global_rule.pk).exists()  # nothing deleted
    assert not PricingAudit.objects.exists()
    assert callbacks == []  # no audit row, no recompute queued
    assert Product.objects.get(pk=priced["laptop"].pk).sale_price == 110_000


def test_preview_save_measures_the_callers_save_and_rolls_it_back(priced, global_rule, staff):
    def save():
        before = pricing.snapshot(global_rule)
        global_rule.markup_percent = Decimal("30")
        global_rule.save()
        pricing.record_change(global_rule, user=staff, before=before)
        return "the admin's response", global_rule, before

    outcome, preview = pricing.preview_save(save)
    assert outcome == "the admin's response"
    assert preview.changed == 3
    assert preview.new_prices[priced["laptop"].pk] == 130_000
    assert PriceRule.objects.get(pk=global_rule.pk).markup_percent == Decimal("10")  # rolled back
    assert not PricingAudit.objects.exists()

    outcome, preview = pricing.preview_save(lambda: ("form errors", None, None))
    assert (outcome, preview) == ("form errors", None)
