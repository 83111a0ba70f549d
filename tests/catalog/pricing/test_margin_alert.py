"""Products that an import takes below their margin floor: one digest per run (Al-Style emulator)."""

from decimal import Decimal

import pytest

from alerts.models import Alert, Kind
from catalog.models import CommissionRate, PriceRule, Product
from catalog.services.importing import import_catalog

pytestmark = pytest.mark.django_db


def test_products_falling_below_the_margin_floor_after_an_import_make_one_digest(
    alstyle, django_capture_on_commit_callbacks
):
    sandbox = alstyle(products=60)
    PriceRule.objects.create(markup_percent=Decimal("10"), min_margin=500, cap="retail")
    CommissionRate.objects.create(percent=Decimal("0"))
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog()
    already = set(Product.objects.filter(below_margin_floor=True).values_list("article", flat=True))
    first = Alert.objects.filter(kind=Kind.MARGIN_FLOOR).count()
    assert first == (1 if already else 0)  # products priced below their floor by the first import too
    priced = list(
        Product.objects.filter(sale_price__isnull=False, below_margin_floor=False, retail_price__gt=1000).order_by(
            "article"
        )[:3]
    )
    assert len(priced) == 3
    for product in priced:  # the dealer price rises to the retail price, the cap: no margin left
        sandbox.update_product(product.article, price1=product.retail_price)
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog()
    fell = set(Product.objects.filter(below_margin_floor=True).values_list("article", flat=True)) - already
    assert fell == {p.article for p in priced}
    assert Alert.objects.filter(kind=Kind.MARGIN_FLOOR).count() == first + 1
    alert = Alert.objects.filter(kind=Kind.MARGIN_FLOOR).latest("created_at")
    assert alert.title.endswith("после импорта")
    assert str(len(fell)) in alert.title
    assert all(any(line.startswith(f"{article} ") for line in alert.lines) for article in fell)
    assert alert.link == "/admin/catalog/product/?below_margin_floor__exact=1"
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog()  # nothing new fell: no second digest
    assert Alert.objects.filter(kind=Kind.MARGIN_FLOOR).count() == first + 1
