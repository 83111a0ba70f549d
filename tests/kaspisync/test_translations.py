"""Every Russian catalog is complete and compiled: no fuzzy or empty entries, and each .mo holds
what its .po says (a .po merged by git while its binary .mo kept one side is caught here)."""

import ast
import gettext
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted(p for p in ROOT.glob("**/locale/ru/LC_MESSAGES/django.po") if ".venv" not in p.parts)


def entries(po: Path):
    """[(flags, msgctxt, msgid, msgid_plural, [msgstr...])] of a .po file (header excluded)."""
    result, current, key, flags = [], None, None, set()

    def finish():
        if current is not None and current["msgid"]:
            result.append(
                (
                    current["flags"],
                    current.get("msgctxt"),
                    current["msgid"],
                    current.get("msgid_plural"),
                    current["msgstr"],
                )
            )

    for raw in po.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith(("msgctxt ", "msgid ")) and (current is None or key.startswith("msgstr")):
            finish()
            current, flags = {"flags": flags, "msgid": "", "msgstr": []}, set()
            key, value = line.split(" ", 1)
            current[key] = ast.literal_eval(value)
        elif line.startswith(("msgid ", "msgid_plural ")):
            key, value = line.split(" ", 1)
            current[key] = ast.literal_eval(value)
        elif line.startswith("msgstr"):
            key, value = line.split(" ", 1)
            current["msgstr"].append(ast.literal_eval(value))
        elif line.startswith('"') and current is not None:
            if key.startswith("msgstr"):
                current["msgstr"][-1] += ast.literal_eval(line)
            else:
                current[key] += ast.literal_eval(line)
    finish()
    return result


@pytest.mark.parametrize("po", CATALOGS, ids=[str(p.relative_to(ROOT)) for p in CATALOGS])
def test_catalog_is_complete_and_compiled(po):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} missing: compile it (msgfmt -o django.mo django.po)"
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    problems = []
    for flags, context, msgid, plural, msgstrs in entries(po):
        name = f"{context}|{msgid}" if context else msgid
        if "fuzzy" in flags:
            problems.append(f"fuzzy: {name!r}")
        if not all(msgstrs):
            problems.append(f"untranslated: {name!r}")
            continue
        if plural:
            got = compiled.npgettext(context, msgid, plural, 1) if context else compiled.ngettext(msgid, plural, 1)
        else:
            got = compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)
        if got != msgstrs[0]:
            problems.append(f"the .mo is stale for {name!r}: {got!r} instead of {msgstrs[0]!r}")
    assert not problems, f"{po.relative_to(ROOT)}:\n" + "\n".join(problems[:20])


GETTEXT_CALLS = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
}


def test_no_string_is_marked_for_translation_inside_an_f_string():
    """xgettext (`make messages`) does not look inside f-strings: a string marked there is never
    extracted, so it shows in English, and a translation added by hand is dropped as obsolete by
    the next `make messages`. Mark it outside the f-string."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if {".venv", "tests", "bench", "migrations"} & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.JoinedStr):
                continue
            for inner in ast.walk(node):
                name = getattr(getattr(inner, "func", None), "id", None) or getattr(
                    getattr(inner, "func", None), "attr", None
                )
                if isinstance(inner, ast.Call) and name in GETTEXT_CALLS:
                    found.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert not found, "strings marked for translation inside f-strings (xgettext cannot see them):\n" + "\n".join(found)
