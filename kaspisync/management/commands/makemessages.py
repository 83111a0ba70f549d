"""`manage.py makemessages`, run from the project root for every catalog at once (`make messages`).

Django's command, plus what this project's layout needs so that a run loses no translation:
- the virtualenv, runtime state, tests and benchmarks are never scanned;
- references name the file only (`#: orders/models.py`), no line numbers to churn;
- a string found in a template under `templates/` belongs to the project catalog (`locale/`), one
  found in an app to that app's catalog; when a string moves between catalogs, its translation is
  taken from whichever catalog had it (a compendium of every catalog's translated entries, then
  Django's own for the admin templates we override), never guessed by fuzzy matching;
- entries no code uses any more are dropped, except in the project's catalogs (LOCALE_PATHS): there
  an entry translating one of Django's own strings is a deliberate portal-wide override of
  Django's wording ("Add %s" -> "Добавление: %s") and is kept although no code of ours uses it.
"""

import subprocess
import tempfile
from pathlib import Path

import django
from django.conf import settings
from django.core.management.commands import makemessages

NEVER_SCANNED = [".venv", ".venv/*", "var", "var/*", "tests", "tests/*", "bench", "bench/*", "node_modules"]
DJANGO_CATALOGS = ["contrib/admin/locale/{locale}/LC_MESSAGES/django.po", "conf/locale/{locale}/LC_MESSAGES/django.po"]


class Command(makemessages.Command):
    help = makemessages.Command.help + " Run from the project root: every app's catalog and locale/ at once."
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]

    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options.get("ignore_patterns", []), *NEVER_SCANNED]
        # File names without line numbers: an edit elsewhere in a file leaves the catalogs alone,
        # so helpers changing code in parallel do not collide on every .po.
        options["add_location"] = options.get("add_location") or "file"
        domain = options.get("domain") or "django"
        with tempfile.TemporaryDirectory(prefix="makemessages-") as tmp:
            tmp = Path(tmp)
            before = {po: translated(po, tmp / f"before-{i}.po") for i, po in enumerate(all_catalogs(domain))}
            super().handle(*args, **options)
            django_translated = {}  # {locale: Django's translated catalogs}, read once per locale
            for i, po in enumerate(all_catalogs(domain)):
                # A catalog's own translation first, then any other catalog's, then Django's.
                locale = po.parent.parent.name
                sources = [before.get(po)] + [
                    t for other, t in before.items() if other != po and other.parent.parent.name == locale
                ]
                if locale not in django_translated:
                    django_translated[locale] = [
                        translated(d, tmp / f"django-{locale}-{n}.po") for n, d in enumerate(django_catalogs(locale))
                    ]
                theirs = django_translated[locale]
                sources += theirs
                compendium = tmp / f"compendium-{i}.po"
                tool("msgcat", "--use-first", "-o", compendium, *[s for s in sources if s is not None])
                # msgmerge fills plural entries from a compendium only with an empty definition file.
                tool("msgmerge", "-q", "--no-fuzzy-matching", "--compendium", compendium, "-o", po, "/dev/null", po)
                tool("msgattrib", "--no-obsolete", "-o", po, po)
                if before.get(po) and is_project_catalog(po) and any(theirs):
                    keep_overrides(po, before[po], [t for t in theirs if t is not None], tmp / f"overrides-{i}.po")


def all_catalogs(domain: str) -> list[Path]:
    root = Path(settings.BASE_DIR)
    return sorted(po for po in root.glob(f"**/locale/*/LC_MESSAGES/{domain}.po") if ".venv" not in po.parts)


def is_project_catalog(po: Path) -> bool:
    return any(Path(d).resolve() in po.resolve().parents for d in settings.LOCALE_PATHS)


def keep_overrides(po: Path, before: Path, django: list[Path], out: Path) -> None:
    """Add to `po` the entries `before` wrote by hand (no source reference) for msgids of Django's
    catalogs: our wording of Django's strings. An entry our code or templates used (it has a
    reference) goes with its last use, as any other."""
    reference = out.with_suffix(".django.po")
    tool("msgcat", "--use-first", "-o", reference, *django)
    blocks = before.read_text(encoding="utf-8").split("\n\n")
    unreferenced = out.with_suffix(".ours.po")
    unreferenced.write_text(
        "\n\n".join(b for b in blocks if not any(line.startswith("#:") for line in b.splitlines())) + "\n",
        encoding="utf-8",
    )
    # The msgids both define, with the first file's (our) translation.
    tool("msgcomm", "--more-than=1", "-o", out, unreferenced, reference)
    if out.exists():
        tool("msgcat", "--use-first", "-o", po, po, out)


def django_catalogs(locale: str) -> list[Path]:
    root = Path(django.__file__).parent
    return [p for p in (root / c.format(locale=locale) for c in DJANGO_CATALOGS) if p.exists()]


def translated(po: Path, out: Path) -> Path | None:
    """The translated, non-fuzzy entries of `po` (None when it has none)."""
    tool("msgattrib", "--translated", "--no-fuzzy", "--no-obsolete", "-o", out, po)
    return out if out.exists() else None


def tool(*args) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True)
