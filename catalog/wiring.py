"""What the catalog adds to the shared plumbing (kaspisync.registry), registered in
CatalogConfig.ready(): the Al-Style connection check, the first import of an empty catalog, the
demo pricing rule, the dashboard panel and its periodic jobs (full import, quick refresh,
price recompute) with their alert and page thresholds."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kaspisync import registry

IMPORT_LOCK = "catalog.import"  # the job lock of the full import and the quick refresh (services.importing)
PRICING_LOCK = "catalog.pricing"  # the price recompute's (services.pricing)

# What price managers edit (kaspisync.roles), besides the product list's pricing actions.
PRICING_MODELS = ("pricerule", "priceband", "commissionrate", "feedexclusion")


def check_alstyle() -> str:
    """One cheap `date` call, inside the shared rate limit."""
    from .alstyle import AlstyleClient

    answer = AlstyleClient(max_attempts=1).get("date")
    return f"{settings.ALSTYLE_API_URL} — {str(answer)[:80]}"


def catalog_is_empty() -> bool:
    from .models import Product

    return not Product.objects.exists()


def seed_demo_pricing() -> str | None:
    from .services.demo import seed_demo_pricing

    return seed_demo_pricing()


def register() -> None:
    registry.connection_check("al-style", check_alstyle, external=True)
    registry.first_job(
        "first full catalog import",
        "catalog.tasks.import_catalog",
        needed=catalog_is_empty,
        kwargs={"quick": False, "trigger": "schedule"},
    )
    registry.demo_data("demo pricing rule", seed_demo_pricing, sandbox="alstyle")
    registry.dashboard_panel("admin/catalog/dashboard_panel.html")
    common = {"run_model": "catalog.ImportRun", "lock_name": IMPORT_LOCK, "task": "catalog.tasks.import_catalog"}
    registry.job(
        registry.Job(
            name="catalog.import.full",
            label=_("full catalog import"),
            interval_setting="IMPORT_FULL_INTERVAL",
            run_filter={"kind": "full"},
            task_kwargs={"quick": False},
            alert_after=2,
            page_after=2,
            **common,
        )
    )
    registry.job(
        registry.Job(
            name="catalog.import.quick",
            label=_("quick price and stock refresh"),
            interval_setting="IMPORT_QUICK_INTERVAL",
            run_filter={"kind": "quick"},
            task_kwargs={"quick": True},
            alert_after=3,
            **common,
        )
    )
    registry.job(
        registry.Job(
            name="catalog.pricing",
            label=_("price recompute"),
            run_model="catalog.PricingRun",
            interval_setting="PRICING_RECOMPUTE_INTERVAL",
            lock_name=PRICING_LOCK,
            task="catalog.tasks.recompute_prices",  # an abandoned run of any scope: recompute all
            alert_after=2,
        )
    )
    registry.role_permissions(
        registry.PRICE_MANAGERS,
        [
            "catalog.run_import",
            "catalog.change_product",  # the product list's pricing actions: manual price, exclusions
            *(f"catalog.{action}_{model}" for action in ("add", "change", "delete") for model in PRICING_MODELS),
        ],
    )
