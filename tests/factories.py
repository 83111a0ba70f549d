"""Test data written straight to the database, shared by every app's tests (one way to make each):

    make_staff("viewer", "orders.view_order")            -> a staff user with exactly that permission
    make_staff("boss", superuser=True)
    make_product(stock=3, sale_price=990)                -> a supplier product as an import stores it

The fixtures `make_staff` and `make_product` (tests/conftest.py) hand out the same functions and
bring the database with them; helpers outside a test function import them from here.
"""

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

_articles = itertools.count(900_001)  # one counter for the session: generated articles never collide


def make_staff(username: str = "staff", *perms, superuser: bool = False, password: str | None = None):
    """A staff user holding exactly `perms` ("app.codename", a codename found in one app only, or
    Permission rows), read fresh from the database (no cached permissions). An unknown or
    ambiguous name fails loudly rather than granting nothing. Without a password the user logs in
    with `client.force_login` (no slow hashing); with one, through the login form."""
    user = get_user_model().objects.create_user(username, password=password, is_staff=True, is_superuser=superuser)
    user.user_permissions.set([_permission(perm) for perm in perms])
    return get_user_model().objects.get(pk=user.pk)


def _permission(perm) -> Permission:
    if isinstance(perm, Permission):
        return perm
    app, _dot, codename = perm.rpartition(".")
    rows = Permission.objects.filter(codename=codename)
    if app:
        rows = rows.filter(content_type__app_label=app)
    try:
        return rows.get()
    except (Permission.DoesNotExist, Permission.MultipleObjectsReturned):
        raise AssertionError(f"no single permission {perm!r}: name it as 'app.codename'") from None


def make_product(
    article: int | None = None,
    *,
    name: str = "Колонки Mi Speaker",
    brand="Xiaomi",
    dealer_price: int | None = 10_000,
    sale_price: int | None = 12_990,
    stock: int = 10,
    **fields,
):
    """A supplier product, sellable by default (dealer price, sale price, stock). `brand`: a name
    (found or created), a Brand, or None ("" too); any other Product field by keyword."""
    from catalog.models import Brand, Product

    if isinstance(brand, str):
        brand = Brand.objects.get_or_create(name=brand)[0] if brand else None
    return Product.objects.create(
        article=article or next(_articles),
        name=name,
        brand=brand,
        dealer_price=dealer_price,
        sale_price=sale_price,
        stock=stock,
        **fields,
    )
