"""What the orders app adds to the shared plumbing (kaspisync.registry), registered in
OrdersConfig.ready(): the Kaspi connection check, the first pull, the dashboard panels (orders,
"to buy today", Kaspi quality), the pull job (pages after three missed intervals) and its
customer personal data; and, to catalog, the stock that open orders and recent purchases hold
(catalog.reservations)."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kaspisync import registry

PULL_LOCK = "orders.pull"  # the pull's job lock (orders.services.pull)

CUSTOMER_PERMISSION = "orders.view_customer_data"
# What order managers do (kaspisync.roles), besides seeing customer data and the auto-accept rules.
ORDER_ACTIONS = (
    "accept_order",
    "cancel_order",
    "complete_order",
    "assemble_order",
    "pull_orders",
    "mark_purchased",
    "switch_autoaccept",
)


def check_kaspi() -> str:
    from .kaspi import KaspiClient

    cities = KaspiClient(max_attempts=1).cities()
    return f"{settings.KASPI_API_URL} — {len(cities)} cities"


def no_orders() -> bool:
    from .models import Order

    return not Order.objects.exists()


def register() -> None:
    from catalog import reservations

    from .purchase_list import reservation_demands

    reservations.register_source("orders", reservation_demands)
    registry.connection_check("kaspi", check_kaspi, external=True)
    registry.first_job("first order pull", "orders.tasks.pull_orders", needed=no_orders, kwargs={"trigger": "schedule"})
    registry.dashboard_panel("admin/orders/dashboard_panel.html")
    registry.dashboard_panel("admin/orders/purchase_panel.html")  # "to buy today"
    registry.dashboard_panel("admin/orders/quality/panel.html")
    registry.job(
        registry.Job(
            name="orders.pull",
            label=_("order pull"),
            run_model="orders.PullRun",
            interval_setting="ORDERS_PULL_INTERVAL",
            lock_name=PULL_LOCK,
            task="orders.tasks.pull_orders",
            alert_after=3,
            page_after=3,
        )
    )
    registry.personal_data(
        "orders.Order",
        ("customer_name", "customer_phone", "delivery_address", "delivery_address_data", "raw"),
        CUSTOMER_PERMISSION,
    )
    registry.personal_data("orders.OrderEntry", ("raw",), CUSTOMER_PERMISSION)
    registry.role_permissions(
        registry.ORDER_MANAGERS,
        [
            CUSTOMER_PERMISSION,
            *(f"orders.{name}" for name in ORDER_ACTIONS),
            *(f"orders.{action}_autoacceptrule" for action in ("add", "change", "delete")),
            "orders.change_autoacceptsettings",
        ],
    )
