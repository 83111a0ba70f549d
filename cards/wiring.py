"""What the cards app adds to the shared plumbing (kaspisync.registry), registered in
CardsConfig.ready(): the content-API connection check, the first read of Kaspi's categories
(make run), and its periodic jobs for /healthz and the alerts (never paging: cards wait)."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kaspisync import registry

# What price managers do with product cards (kaspisync.roles): map categories and attributes,
# refresh Kaspi's classification, upload cards.
MAPPING_MODELS = ("categorymapping", "attributemapping")


def check_content_api() -> str:
    from .kaspi_content import KaspiContentClient

    schema = KaspiContentClient(max_attempts=1).schema()  # harmless: also a token check
    return f"{settings.KASPI_CONTENT_API_URL} — import schema ({schema.get('$schema', 'JSON Schema')})"


def no_kaspi_categories() -> bool:
    from .models import KaspiCategory

    return not KaspiCategory.objects.exists()


def register() -> None:
    registry.connection_check("kaspi content api", check_content_api, external=True)
    registry.first_job(
        "first read of Kaspi's categories",
        "cards.tasks.refresh_classification",
        needed=no_kaspi_categories,
        kwargs={"trigger": "schedule"},
    )
    registry.job(
        registry.Job(
            name="cards.classification",
            label=_("Kaspi categories refresh"),
            run_model="cards.RefreshRun",
            run_filter={"kind": "classification"},
            interval_setting="CARDS_CLASSIFICATION_INTERVAL",
            lock_name="cards.classification",
            task="cards.tasks.refresh_classification",
            alert_after=2,
        )
    )
    registry.role_permissions(
        registry.PRICE_MANAGERS,
        [
            "cards.upload_cards",
            *(f"cards.{action}_{model}" for action in ("add", "change", "delete") for model in MAPPING_MODELS),
        ],
    )
