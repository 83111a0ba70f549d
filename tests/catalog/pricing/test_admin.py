"""The pricing admin over the Django test client, as a staff user, on the real database."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import PriceChangeCause, PriceOverride, PriceRule, PricingAudit, Product, SalePriceChange
from catalog.services import pricing

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ADD_URL = "/admin/catalog/pricerule/add/"


def rule_form(bands=(), **fields):
    data = {
        "name": "",
        "category": "",
        "brand": "",
        "product": "",
        "is_active": "on",
        "markup_percent": "10",
        "markup_fixed": "0",
        "rounding_step": "1",
        "rounding_mode": "up",
        "rounding_ending": "0",
        "min_margin": "0",
        "min_margin_percent": "0",
        "cap": "",
        "publish_min_stock": "1",
        "bands-TOTAL_FORMS": str(len(bands)),
        "bands-INITIAL_FORMS": "0",
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "1000",
    }
    for i, (low, high, percent) in enumerate(bands):
        data.update(
            {
                f"bands-{i}-low": str(low),
                f"bands-{i}-high": "" if high is None else str(high),
                f"bands-{i}-markup_percent": str(percent),
                f"bands-{i}-markup_fixed": "0",
            }
        )
    data.update({k: str(v) for k, v in fields.items()})
    return data


@pytest.fixture
def priced(tree, brands, make_product, zero_commission, global_rule):
    laptop = make_product(tree["laptops"], brands["Acer"], 100_000)
    hose = make_product(tree["garden"], brands["Gardena"], 10_000)
    pricing.recompute_prices()
    return {"laptop": laptop, "hose": hose}


def test_overlapping_bands_are_rejected(staff_client, tree):
    response = staff_client.post(
        ADD_URL, rule_form(bands=[(0, 10_000, 30), (5_000, 20_000, 18)], category=tree["laptops"].pk), **EN
    )
    assert response.status_code == 200
    assert "overlap" in response.content.decode()
    open_ended = staff_client.post(
        ADD_URL, rule_form(bands=[(0, None, 30), (5_000, 20_000, 18)], category=tree["laptops"].pk), **EN
    )
    assert "overlap" in open_ended.content.decode()
    assert not PriceRule.objects.filter(category=tree["laptops"]).exists()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"rounding_step": "100", "rounding_ending": "150"}, "The ending must be smaller than the rounding step"),
        ({"rounding_step": "30"}, "Select a valid choice"),
        ({"markup_percent": "1000"}, "less than or equal to 500"),
        ({"markup_percent": "-5"}, "greater than or equal to 0"),
        ({"min_margin_percent": "95"}, "less than or equal to 45"),
        ({"markup_percent": "abc"}, "Enter a number"),
    ],
)
def test_nonsense_rule_values_are_rejected(staff_client, tree, fields, message):
    response = staff_client.post(ADD_URL, rule_form(category=tree["laptops"].pk, **fields), **EN)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PriceRule.objects.filter(category=tree["laptops"]).exists()


def test_band_upper_bound_must_be_above_lower(staff_client, tree):
    response = staff_client.post(ADD_URL, rule_form(bands=[(10_000, 5_000, 30)], category=tree["laptops"].pk), **EN)
    assert "The upper bound must be above the lower bound" in response.content.decode()


def test_second_rule_for_the_same_scope_is_rejected(staff_client, priced):
    response = staff_client.post(ADD_URL, rule_form(), **EN)  # a second global rule
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert PriceRule.objects.count() == 1


def test_preview_saves_nothing_then_confirm_saves_audits_and_reprices(
    staff_client, staff, priced, tree, eager_celery, django_capture_on_commit_callbacks
):
    data = rule_form(category=tree["computers"].pk, markup_percent="25", rounding_step="100")
    response = staff_client.post(ADD_URL, {**data, "_preview": "1"}, **EN)
    assert response.status_code == 200
    page = response.content.decode()
    assert "pricing-preview-summary" in page
    assert "Confirm and save" in page
    assert not PriceRule.objects.filter(category=tree["computers"]).exists()
    assert not PricingAudit.objects.exists()
    assert response.context["preview"].changed == 1
    assert response.context["preview"].new_prices == {priced["laptop"].pk: 125_000}
    assert Product.objects.get(pk=priced["laptop"].pk).sale_price == 110_000

    confirm = {key: value for key, value in response.context["posted"]}
    with django_capture_on_commit_callbacks(execute=True):
        saved = staff_client.post(ADD_URL, {**confirm, "_save": "1"}, **EN)
    assert saved.status_code == 302
    rule = PriceRule.objects.get(category=tree["computers"])
    audit = PricingAudit.objects.get()
    assert (audit.user, audit.action, audit.object_id) == (staff, "created", rule.pk)
    assert audit.changes["markup_percent"] == [None, "25"]
    laptop = Product.objects.get(pk=priced["laptop"].pk)
    assert laptop.sale_price == 125_000
    assert laptop.price_rule == rule  # the preview's figure
    change = SalePriceChange.objects.filter(product=laptop).first()
    assert (change.cause, change.user, change.new_price) == (PriceChangeCause.RULE, staff, 125_000)
    assert Product.objects.get(pk=priced["hose"].pk).sale_price == 11_000


def test_editing_a_rule_records_what_changed(
    staff_client, staff, priced, global_rule, eager_celery, django_capture_on_commit_callbacks
):
    url = f"/admin/catalog/pricerule/{global_rule.pk}/change/"
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            url, rule_form(name="Everything", markup_percent="12", bands=[(0, 50_000, 20)], _confirmed=1), **EN
        )
    assert response.status_code == 302
    audit = PricingAudit.objects.get()
    assert audit.action == "changed"
    assert audit.user == staff
    assert audit.changes["markup_percent"] == ["10", "12"]
    assert "min_margin_percent" not in audit.changes  # 0.00 and 0 are the same
    assert audit.changes["bands"][0] == []
    assert Product.objects.get(pk=priced["hose"].pk).sale_price == 12_000  # band 20 %
    assert Product.objects.get(pk=priced["laptop"].pk).sale_price == 112_000
    audit_page = staff_client.get("/admin/catalog/pricingaudit/", **EN)
    assert "Everything" in audit_page.content.decode()
    rule_page = staff_client.get(url, **EN).content.decode()
    assert "markup, %: 10 → 12" in rule_page
    assert "manager" in rule_page  # the rule's own audit trail


def test_recompute_action_reprices_the_rules_products(
    staff_client, staff, priced, global_rule, eager_celery, django_capture_on_commit_callbacks
):
    Product.objects.filter(pk=priced["hose"].pk).update(dealer_price=20_000)  # e.g. changed by hand in the DB
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/catalog/pricerule/",
            {"action": "recompute_rule_products", "_selected_action": [global_rule.pk]},
            follow=True,
        )
    assert "Цены товаров 1 правила пересчитываются" in response.content.decode()  # says what it did
    assert Product.objects.get(pk=priced["hose"].pk).sale_price == 22_000
    change = SalePriceChange.objects.filter(product=priced["hose"]).first()
    assert (change.cause, change.user) == (PriceChangeCause.RECOMPUTE, staff)


def test_save_without_confirmation_only_previews(staff_client, priced, global_rule):
    url = f"/admin/catalog/pricerule/{global_rule.pk}/change/"
    response = staff_client.post(url, rule_form(name="Everything", markup_percent="25", _save="Save"), **EN)
    assert response.status_code == 200
    assert "Confirm and save" in response.content.decode()
    global_rule.refresh_from_db()
    assert global_rule.markup_percent == Decimal("10")
    assert not PricingAudit.objects.exists()
    assert ("_confirmed", "1") in response.context["posted"]


def test_the_preview_lists_products_that_fall_below_the_floor(staff_client, priced, global_rule, tree):
    data = rule_form(category=tree["garden"].pk, markup_percent="0", min_margin="500")
    response = staff_client.post(ADD_URL, {**data, "_preview": "1"}, **EN)
    preview = response.context["preview"]
    assert preview.below_floor == 0  # the floor lifts the price: not below it
    data = rule_form(category=tree["garden"].pk, markup_percent="0", min_margin="500", cap="retail")
    Product.objects.filter(pk=priced["hose"].pk).update(retail_price=10_100)
    response = staff_client.post(ADD_URL, {**data, "_preview": "1"}, **EN)
    preview = response.context["preview"]
    assert preview.below_floor == 1
    assert [row["product"].pk for row in preview.below_floor_sample] == [priced["hose"].pk]
    assert "pricing-preview-below-floor" in response.content.decode()


def test_deleting_a_rule_is_previewed_then_audited(staff_client, staff, priced, tree):
    rule = PriceRule.objects.create(category=tree["garden"], markup_percent=Decimal("50"))
    pricing.recompute_prices()
    confirm = staff_client.get(f"/admin/catalog/pricerule/{rule.pk}/delete/", **EN)
    assert confirm.status_code == 200
    assert "What deleting it does to prices" in confirm.content.decode()
    preview = confirm.context["preview"]
    assert preview.changed == 1
    assert preview.new_prices == {priced["hose"].pk: 11_000}  # back to the global 10 %
    assert PriceRule.objects.filter(pk=rule.pk).exists()
    assert not PricingAudit.objects.exists()
    actions = staff_client.get("/admin/catalog/pricerule/", **EN).context["action_form"].fields["action"].choices
    assert "delete_selected" not in [name for name, _label in actions]
    response = staff_client.post(f"/admin/catalog/pricerule/{rule.pk}/delete/", {"post": "yes"}, **EN)
    assert response.status_code == 302
    audit = PricingAudit.objects.get()
    assert (audit.action, audit.object_id, audit.user) == ("deleted", rule.pk, staff)


def test_product_list_shows_pricing_columns_and_filters(staff_client, priced, global_rule, staff):
    pricing.set_override([priced["hose"].pk], 9_000, user=staff)
    response = staff_client.get("/admin/catalog/product/", **EN)
    assert response.status_code == 200
    page = response.content.decode().lower()
    laptop = Product.objects.get(pk=priced["laptop"].pk)
    # the columns a person decides with; how the price was made is on hover and on the page
    for text in ("net margin", "sale price", "dealer price", "status", "manual price", "below margin floor"):
        assert text in page, f"{text!r} missing from the product list"
    assert f'title="{laptop.price_explanation.lower()}"' in page, "the price explanation is not on hover"
    below = staff_client.get("/admin/catalog/product/?below_margin_floor__exact=1", **EN)
    assert list(below.context["cl"].result_list) == [Product.objects.get(pk=priced["hose"].pk)]
    manual = staff_client.get("/admin/catalog/product/?manual_price=yes", **EN)
    assert [p.pk for p in manual.context["cl"].result_list] == [priced["hose"].pk]
    detail = staff_client.get(f"/admin/catalog/product/{priced['hose'].pk}/change/", **EN)
    assert detail.status_code == 200
    assert "sale price history" in detail.content.decode().lower()
    assert reverse("admin:catalog_pricerule_change", args=[global_rule.pk]) in detail.content.decode()


def test_set_override_action_asks_then_applies(staff_client, staff, priced):
    ids = [priced["laptop"].pk, priced["hose"].pk]
    base = {"action": "set_override", "_selected_action": ids}
    form = staff_client.post("/admin/catalog/product/", base, **EN)
    assert form.status_code == 200
    assert "Show what it changes" in form.content.decode()
    assert not PriceOverride.objects.exists()
    preview = staff_client.post("/admin/catalog/product/", {**base, "apply": "1", "price": "50000"}, **EN)
    assert preview.status_code == 200
    assert "override-preview" in preview.content.decode()
    assert not PriceOverride.objects.exists(), "the preview saved the manual price"
    done = staff_client.post(
        "/admin/catalog/product/",
        {
            **base,
            "apply": "1",
            "price": "50000",
            "confirmed": "1",
            "accept_loss": "1",
        },  # below the laptop's dealer price
        follow=True,
        **EN,
    )
    assert "Manual price 50\u00a0000\u00a0₸ set for 2 products. 2 sale prices changed." in done.content.decode()
    assert set(Product.objects.filter(pk__in=ids).values_list("sale_price", flat=True)) == {50_000}
    assert SalePriceChange.objects.filter(cause=PriceChangeCause.OVERRIDE, user=staff).count() == 2
    cleared = staff_client.post(
        "/admin/catalog/product/", {"action": "clear_override", "_selected_action": ids}, follow=True, **EN
    )
    assert "Manual price removed from 2 products. 2 sale prices changed." in cleared.content.decode()
    assert Product.objects.get(pk=priced["laptop"].pk).sale_price == 110_000


def test_a_manual_price_below_the_dealer_price_needs_an_explicit_confirmation(staff_client, staff, priced):
    """Issue 13 item 3: 1 ₸ on a product bought for 100 000 ₸ is previewed with a warning and is
    refused until the loss is confirmed."""
    laptop = priced["laptop"]
    base = {"action": "set_override", "_selected_action": [laptop.pk], "apply": "1", "price": "1"}
    preview = staff_client.post("/admin/catalog/product/", base).content.decode()
    assert 'id="override-warning"' in preview
    assert "ниже дилерской цены" in preview
    assert "100\u00a0000\u00a0₸" in preview
    assert "1\u00a0₸" in preview
    refused = staff_client.post("/admin/catalog/product/", {**base, "confirmed": "1"})
    assert refused.status_code == 200
    assert "Отметьте" in refused.content.decode()
    assert not PriceOverride.objects.exists()
    assert Product.objects.get(pk=laptop.pk).sale_price == 110_000
    staff_client.post("/admin/catalog/product/", {**base, "confirmed": "1", "accept_loss": "1"})
    assert Product.objects.get(pk=laptop.pk).sale_price == 1


def test_exclude_and_include_say_what_they_did(staff_client, priced):
    ids = [priced["laptop"].pk, priced["hose"].pk]
    out = staff_client.post(
        "/admin/catalog/product/", {"action": "exclude_from_feed", "_selected_action": ids}, follow=True
    ).content.decode()
    assert "2 товара исключены из прайс-листа." in out
    back = staff_client.post(
        "/admin/catalog/product/", {"action": "include_in_feed", "_selected_action": ids[:1]}, follow=True
    ).content.decode()
    assert "1 товар снова в прайс-листе." in back


def test_set_override_refuses_a_past_expiry_and_warns_about_unsellable_products(
    staff_client, staff, priced, make_product
):
    on_request = make_product(dealer_price=None, unsellable_reason="price_on_request")
    base = {"action": "set_override", "_selected_action": [priced["laptop"].pk, on_request.pk], "apply": "1"}
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    refused = staff_client.post("/admin/catalog/product/", {**base, "price": "50000", "expires_at": past}, **EN)
    assert refused.status_code == 200
    assert "already passed" in refused.content.decode()
    assert not PriceOverride.objects.exists()
    with pytest.raises(ValueError):
        pricing.set_override([priced["laptop"].pk], 50_000, user=staff, expires_at=timezone.now())
    done = staff_client.post(
        "/admin/catalog/product/", {**base, "price": "50000", "confirmed": "1", "accept_loss": "1"}, follow=True, **EN
    )
    page = done.content.decode()
    assert "1 sale price changed" in page
    assert "1 of the selected products cannot be sold" in page


def test_exclude_and_include_actions(staff_client, priced):
    ids = [priced["laptop"].pk]
    staff_client.post("/admin/catalog/product/", {"action": "exclude_from_feed", "_selected_action": ids}, **EN)
    assert Product.objects.get(pk=ids[0]).feed_excluded is True
    staff_client.post("/admin/catalog/product/", {"action": "include_in_feed", "_selected_action": ids}, **EN)
    assert Product.objects.get(pk=ids[0]).feed_excluded is False


def test_commission_change_is_previewed_with_the_same_mechanism(staff_client, priced, tree):
    data = {"category": tree["garden"].pk, "percent": "10"}
    response = staff_client.post("/admin/catalog/commissionrate/add/", {**data, "_preview": "1"}, **EN)
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.changed == 1
    assert preview.new_prices == {priced["hose"].pk: 12_223}  # 11 000 / 0.9 → up
    assert preview.delta_percent == {"min": Decimal("11.1"), "median": Decimal("11.1"), "max": Decimal("11.1")}
    assert not PricingAudit.objects.exists()
    bad = staff_client.post("/admin/catalog/commissionrate/add/", {**data, "percent": "75", "_preview": "1"}, **EN)
    assert "less than or equal to 50" in bad.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/pricerule/",
        "/admin/catalog/pricerule/add/",
        "/admin/catalog/commissionrate/add/",
        "/admin/catalog/feedexclusion/add/",
        "/admin/catalog/salepricechange/",
        "/admin/catalog/pricingrun/",
        "/admin/catalog/priceoverride/",
        "/admin/catalog/pricingaudit/",
    ],
)
def test_pricing_admin_pages_render(staff_client, priced, staff, url):
    pricing.set_override([priced["hose"].pk], 9_000, user=staff)
    response = staff_client.get(url, **EN)
    assert response.status_code == 200
    if "add" in url:
        assert 'name="_preview"' in response.content.decode()
