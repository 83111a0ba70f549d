"""Customer personal data (name, phone, address, raw payload) cannot be learned without
`orders.view_customer_data`: not by filters, lookups through relations, search, ordering or the
exports (issue 9, item 1)."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from kaspisync import registry
from orders.models import Order, OrderEntry
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

# "Now" as pages show it: ISO in links, "01.12.2026 11:32" in words (the purchase list's "as of").
TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d(%3A|:)\d\d(%3A|:)\d\d(\.\d+)?((%2B|\+)\d\d(%3A|:)\d\d)?"
    r"|\d\d\.\d\d\.\d{4} \d\d:\d\d"
)
PHONE = "7012345678"
NAME = "Айгерим Нурланова"
STREET = "Абая"


@pytest.fixture
def order():
    made = Order.objects.create(
        kaspi_id="p1",
        code="555000111",
        state="NEW",
        status="APPROVED_BY_BANK",
        total_price=15000,
        created_at=timezone.now(),
        city="Алматы",
        customer_name=NAME,
        customer_phone=PHONE,
        delivery_address=f"ул. {STREET}, 10",
        delivery_address_data={"streetName": STREET},
        raw={"attributes": {"customer": {"cellPhone": PHONE}}},
    )
    OrderEntry.objects.create(
        order=made, kaspi_id="e1", sku="AS1", quantity=1, base_price=15000, total_price=15000, raw={"phone": PHONE}
    )
    Order.objects.create(
        kaspi_id="p2", code="555000222", state="NEW", status="NEW", total_price=900, created_at=timezone.now()
    )
    return made


PERSONAL_LOOKUPS = [
    ("customer_phone__exact", PHONE),
    ("customer_phone", PHONE),
    ("customer_phone__startswith", PHONE[:3]),
    ("customer_phone__contains", PHONE[3:6]),
    ("customer_phone__regex", "^701"),
    ("customer_name__icontains", "айгерим"),
    ("customer_name__istartswith", NAME[:2]),
    ("delivery_address__contains", STREET),
    ("delivery_address_data__streetName", STREET),
    ("raw__icontains", PHONE),
    ("raw__attributes__customer__cellPhone", PHONE),
    ("entries__raw__icontains", PHONE),
    ("entries__order__customer_phone", PHONE),
    ("customer_phone__isnull", "False"),
    ("customer_name__gt", "А"),
]


@pytest.mark.parametrize("lookup, value", PERSONAL_LOOKUPS)
@pytest.mark.parametrize("where", ["list", "csv", "xlsx"])
def test_filters_on_personal_fields_are_refused_without_the_permission(client, order, lookup, value, where):
    client.force_login(make_staff("viewer", "orders.view_order"))
    url = reverse("admin:orders_order_changelist")
    if where != "list":
        url = reverse("admin:orders_order_export", args=[where])
    matching = client.get(url, {lookup: value})
    assert matching.status_code == 400
    other = client.get(url, {lookup: "no-such-value"})
    assert other.status_code == 400  # the same answer whatever the value: nothing to learn


@pytest.mark.parametrize("lookup, value", PERSONAL_LOOKUPS[:11])
def test_with_the_permission_the_same_filters_work(client, order, lookup, value):
    client.force_login(make_staff("support", "orders.view_order", "orders.view_customer_data"))
    page = client.get(reverse("admin:orders_order_changelist"), {lookup: value})
    assert page.status_code == 200
    assert order.code in page.content.decode()
    assert "555000222" not in page.content.decode()


def test_the_refusal_is_a_page_in_russian(client, order):
    client.force_login(make_staff("viewer", "orders.view_order"))
    page = client.get(reverse("admin:orders_order_changelist"), {"customer_phone__startswith": "7"})
    assert page.status_code == 400
    assert "Неверный запрос" in page.content.decode()


def test_search_and_sort_never_reach_personal_fields_without_the_permission(client, order):
    client.force_login(make_staff("viewer", "orders.view_order"))
    url = reverse("admin:orders_order_changelist")
    for term in (PHONE, NAME, STREET, PHONE[:4]):
        assert order.code not in client.get(url, {"q": term}).content.decode()


def test_a_column_sorting_on_a_personal_field_does_not_sort_for_the_unpermitted(rf, order):
    """`?o=` sorts by a column's admin_order_field whatever `sortable_by` says."""
    from orders.admin import OrderAdmin

    class WithCustomerSort(OrderAdmin):
        list_display = ("order_column", "who")

        @admin.display(ordering="customer_name")
        def who(self, obj):
            return "—"

    model_admin = WithCustomerSort(Order, admin.site)
    for user, sorted_by_name in (
        (make_staff("viewer", "orders.view_order"), False),
        (make_staff("support", "orders.view_order", "orders.view_customer_data"), True),
    ):
        request = rf.get("/admin/orders/order/", {"o": "1"})
        request.user = user
        ordering = model_admin.get_changelist_instance(request).queryset.query.order_by
        assert ("customer_name" in ordering) is sorted_by_name, ordering


def test_the_export_leaves_out_personal_columns_without_the_permission(client, order):
    client.force_login(make_staff("viewer", "orders.view_order"))
    text = client.get(reverse("admin:orders_order_export", args=["csv"])).content.decode("utf-8-sig")
    assert order.code in text
    assert PHONE not in text
    assert NAME not in text
    assert STREET not in text


def reaching_lookups(model, depth=2, prefix="", seen=()):
    """Lookups from `model` to every registered personal field within `depth` relations."""
    declared = registry.personal_fields(model)
    found = [f"{prefix}{name}" for name in declared.fields] if declared else []
    if depth == 0:
        return found
    for field in model._meta.get_fields():
        if field.is_relation and field.related_model is not None and field.related_model not in seen:
            # field.name is the lookup name of forward and reverse relations alike
            found += reaching_lookups(field.related_model, depth - 1, f"{prefix}{field.name}__", (*seen, model))
    return found


def answer(client, url, params) -> tuple[int, str]:
    response = client.get(url, params)
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    body = TIMESTAMP.sub("<now>", body)  # pages that show "now" (a report's period) differ by it
    return response.status_code, body.replace(params_text(params), "")


def params_text(params) -> str:
    return next(iter(params.values()))


@pytest.mark.slow
def test_no_admin_answers_personal_lookups_differently_by_value(client, order, monkeypatch):
    """Every registered admin list, every lookup path to a personal field within two relations:
    for a user holding every permission but the customer-data one, a matching and a non-matching
    value get the same answer (a refusal, or a page that ignores the parameter)."""
    frozen = timezone.now()  # pages that say how long something has waited must not tick between the two
    monkeypatch.setattr(timezone, "now", lambda: frozen)
    client.force_login(make_staff("almost-all", *Permission.objects.exclude(codename="view_customer_data")))
    checked = 0
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for lookup in reaching_lookups(model):
            for suffix, value in (("", PHONE), ("__icontains", PHONE[:4]), ("__isnull", "False")):
                status, body = answer(client, url, {lookup + suffix: value})
                assert (status, body) == answer(client, url, {lookup + suffix: "zz-no-such-value"}), (
                    f"{model.__name__}: ?{lookup}{suffix}= tells values apart"
                )
                checked += 1
    assert checked > 30
