"""One translation per string: at run time gettext merges every catalog into one, and for the same
msgid (and context) only one translation wins for the whole portal (LOCALE_PATHS' locale/ over
every app, apps earlier in INSTALLED_APPS, django.contrib.* and axes among them, over later ones,
and all of them over Django's own). A string two catalogs translate differently shows one app's
word in the other's pages ("sent" of an alert delivery, "отправлено", on a card that wants
"отправлена"), so such strings carry a context (pgettext) naming where they are shown."""

import gettext
from pathlib import Path

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.utils import translation

from alerts.models import DeliveryStatus
from cards.models import CardStatus
from tests.kaspisync.test_translations import CATALOGS, ROOT, entries

# Enough counts to reach every Russian plural form Django's catalogs use (1, 2-4, 5-20, 21...).
COUNTS = (1, 2, 5, 11, 21, 22, 25)


def at_run_time(context, msgid, plural, n=None):
    if plural:
        if context:
            return translation.npgettext(context, msgid, plural, n)
        return translation.ngettext(msgid, plural, n)
    return translation.pgettext(context, msgid) if context else translation.gettext(msgid)


def expected_plural(po: Path, msgstrs: list[str], n: int) -> str:
    with po.with_suffix(".mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    return msgstrs[compiled.plural(n)]


@pytest.mark.parametrize("po", CATALOGS, ids=[str(p.relative_to(ROOT)) for p in CATALOGS])
def test_every_entry_is_what_gettext_returns_at_run_time(po):
    shadowed = []
    with translation.override("ru"):
        for _, context, msgid, plural, msgstrs in entries(po):
            name = f"{context}|{msgid}" if context else msgid
            if plural:
                for n in COUNTS:
                    want, got = expected_plural(po, msgstrs, n), at_run_time(context, msgid, plural, n)
                    if got != want:
                        shadowed.append(f"{name!r} (n={n}): {got!r} instead of {want!r}")
                        break
            else:
                got = at_run_time(context, msgid, None)
                if got != msgstrs[0]:
                    shadowed.append(f"{name!r}: {got!r} instead of {msgstrs[0]!r}")
    assert not shadowed, (
        f"{po.relative_to(ROOT)}: another catalog's translation wins at run time "
        "(give the string a context, or use one translation everywhere):\n" + "\n".join(shadowed)
    )


def django_catalogs() -> list[Path]:
    """Russian catalogs of Django itself and of every installed app that is not ours (contrib, axes)."""
    found = [Path(django.__file__).parent / "conf" / "locale" / "ru" / "LC_MESSAGES" / "django.mo"]
    for app in apps.get_app_configs():
        mo = Path(app.path) / "locale" / "ru" / "LC_MESSAGES" / "django.mo"
        if mo.exists() and mo.with_suffix(".po") not in CATALOGS:
            found.append(mo)
    assert len(found) > 2, f"Django's catalogs not found: {found}"
    return found


def test_django_catalogs_include_contrib_and_axes():
    names = {mo.parents[3].name for mo in django_catalogs()}
    assert {"conf", "admin", "auth", "axes"} <= names, names


def project_wide(po: Path) -> bool:
    """The project's catalog (LOCALE_PATHS): it overrides Django's wording on purpose, portal-wide."""
    return any(Path(d).resolve() == po.parents[2].resolve() for d in settings.LOCALE_PATHS)


def test_no_app_catalog_translates_a_string_of_django_or_axes_differently():
    """An app's catalog shadows Django's own (ours turned admin formsets' "Order" into "Заказ"),
    and django.contrib.* and axes shadow ours (a product's "name" read auth's "имя"). Only the
    project's catalog (locale/, LOCALE_PATHS) may reword Django's strings: it wins over every
    catalog, so its word is the portal's ("Добавление: %s" instead of "Добавить %s")."""
    theirs = {}
    for mo in django_catalogs():
        with mo.open("rb") as fh:
            for key, value in gettext.GNUTranslations(fh)._catalog.items():
                theirs.setdefault(key, (mo, value))
    clashes = []
    for po in (p for p in CATALOGS if not project_wide(p)):
        for _, context, msgid, plural, msgstrs in entries(po):
            key = f"{context}\x04{msgid}" if context else msgid
            for i, msgstr in enumerate(msgstrs):
                found = theirs.get((key, i) if plural else key)
                if found and found[1] != msgstr:
                    clashes.append(
                        f"{po.relative_to(ROOT)}: {msgid!r} is {msgstr!r}, {found[0].parents[3].name}'s is {found[1]!r}"
                    )
                    break
    assert not clashes, "give these strings a context:\n" + "\n".join(clashes)


def field(model: str, name: str):
    return lambda: apps.get_model(model)._meta.get_field(name).verbose_name


# Where the same English word needs different Russian, each place reads its own (and Django's stay).
PLACES = {
    "card status sent": (lambda: CardStatus.SENT.label, "отправлена"),
    "card status created": (lambda: CardStatus.CREATED.label, "создана"),
    "alert delivery sent": (lambda: DeliveryStatus.SENT.label, "отправлено"),
    "alert delivery failed": (lambda: DeliveryStatus.FAILED.label, "не доставлено"),
    "order created": (field("orders.Order", "created_at"), "создан"),
    "cards sent (count)": (field("cards.UploadRun", "sent"), "отправлено"),
    "Kaspi category title": (field("cards.KaspiCategory", "title"), "название"),
    "alert title": (field("alerts.Alert", "title"), "заголовок"),
    "product name": (field("catalog.Product", "name"), "название"),
    "product active": (field("catalog.Product", "is_active"), "активен"),
    "category active": (field("catalog.Category", "is_active"), "активна"),
    "auto-accept rule active": (field("orders.AutoAcceptRule", "is_active"), "активно"),
    "order pull errors": (field("orders.PullRun", "errors"), "ошибки"),
    "Django's user active": (field("auth.User", "is_active"), "активный"),
    "Django's permission name": (field("auth.Permission", "name"), "имя"),
}


@pytest.mark.parametrize("place", PLACES)
def test_each_place_reads_its_own_word(place):
    label, word = PLACES[place]
    with translation.override("ru"):
        assert str(label()) == word, place
