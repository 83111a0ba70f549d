"""`make messages` (manage.py makemessages from the project root) keeps every catalog complete:
run on a copy of the project, every string the code and templates use ends up translated in some
catalog, nothing fuzzy, and no translation the catalogs held is lost when a string moves from an
app's catalog to the project's (the layout Django's own command breaks: it would leave the admin
templates' strings untranslated in locale/)."""

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kaspisync.test_translation_conflicts import django_catalogs
from tests.kaspisync.test_translations import entries

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext tools are not installed")


def catalogs(root: Path) -> dict[Path, list]:
    return {
        po.relative_to(root): entries(po)
        for po in sorted(root.glob("**/locale/ru/LC_MESSAGES/django.po"))
        if ".venv" not in po.parts
    }


@pytest.mark.slow
def test_makemessages_from_the_root_leaves_every_string_translated_and_loses_none(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", "var", ".git", "__pycache__", "*.pyc"))
    env = {"PATH": "/usr/bin:/bin", "KASPISYNC_VAR_DIR": str(tmp_path / "var"), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ru"], cwd=copy, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr

    after = catalogs(copy)
    problems = [
        f"{po}: {'fuzzy' if 'fuzzy' in flags else 'untranslated'} {msgid!r}"
        for po, found in after.items()
        for flags, _, msgid, _, msgstrs in found
        if "fuzzy" in flags or not all(msgstrs)
    ]
    assert not problems, "strings the code uses without a Russian translation:\n" + "\n".join(problems[:30])

    before = catalogs(ROOT)
    anywhere = {}
    for found in before.values():
        for _, context, msgid, plural, msgstrs in found:
            anywhere.setdefault((context, msgid, plural), []).append(msgstrs)
    for po, found in after.items():
        own = {(c, m, p): s for _, c, m, p, s in before.get(po, [])}
        for _, context, msgid, plural, msgstrs in found:
            key = (context, msgid, plural)
            if key in own:
                assert msgstrs == own[key], f"{po}: the translation of {msgid!r} was rewritten"
            elif key in anywhere:
                assert msgstrs in anywhere[key], f"{po}: {msgid!r} moved here with a new translation"

    # The project's catalog (locale/) rewords some of Django's own strings on purpose ("Add %s" ->
    # "Добавление: %s"); no code of ours uses them, and they stay.
    django_msgids = set()
    for mo in django_catalogs():
        with mo.open("rb") as fh:
            django_msgids |= {k[0] if isinstance(k, tuple) else k for k in gettext.GNUTranslations(fh)._catalog}
    project = Path("locale/ru/LC_MESSAGES/django.po")
    kept = {(c, m, p): s for _, c, m, p, s in after[project]}
    overrides = [(c, m, p, s) for _, c, m, p, s in before[project] if (f"{c}\x04{m}" if c else m) in django_msgids]
    assert any(m == "Add %s" for _, m, _, _ in overrides), "the project's rewording of Django's strings is gone"
    for context, msgid, plural, msgstrs in overrides:
        assert kept.get((context, msgid, plural)) == msgstrs, f"{project}: our wording of Django's {msgid!r} was lost"
