"""The one merchant SKU rule (catalog.sku): pure, used by the price list, orders and the sandbox."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.sku import article_for_sku, is_valid_sku, merchant_sku

ROOT = Path(__file__).resolve().parents[2]


def test_the_sku_is_the_prefix_passed_in_plus_the_article():
    assert merchant_sku(20908, "AS") == "AS20908"
    assert merchant_sku(20908, "KZ") == "KZ20908"
    assert merchant_sku(20908, "") == "20908"
    assert article_for_sku("AS20908", "AS") == 20908
    assert article_for_sku("KZ20908", "KZ") == 20908


@pytest.mark.parametrize("sku", ["", "AS", "KZ20908", "as20908", "AS-1", "AS 1", "AS²", "AS١", "AS007", "AS1.5"])
def test_a_sku_this_rule_did_not_make_names_no_article(sku):
    """Kaspi's offer code is sometimes its own code: never read an article out of it."""
    assert article_for_sku(sku, "AS") is None


def test_the_longest_prefix_and_article_fit_kaspis_limit():
    sku = merchant_sku(4_294_967_295, "ABCDEFGH")  # the settings allow 8 letters; articles are 32-bit
    assert is_valid_sku(sku)
    assert len(sku) == 18


def test_importable_without_django_settings():
    """The sandboxes (and any script) compute SKUs with no settings module configured."""
    code = (
        "import json, sys; from catalog.sku import merchant_sku; "
        "from django.conf import settings; "
        "print(json.dumps([merchant_sku(7, 'AS'), settings.configured]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["AS7", False]


def test_the_kaspi_sandbox_makes_its_demo_skus_with_the_prefix_given_and_no_django():
    code = (
        "import json; from kaspisync.sandbox.kaspi import _demo_products; from django.conf import settings; "
        "print(json.dumps([[p['sku'] for p in _demo_products(5, 'KZ')], settings.configured]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    skus, configured = json.loads(done.stdout)
    assert not configured
    assert len(skus) == 5
    assert all(s.startswith("KZ") and article_for_sku(s, "KZ") for s in skus)


def test_the_rule_is_written_once():
    """No module but catalog/sku.py glues a prefix and an article together, or reads one back."""
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or path == ROOT / "catalog" / "sku.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in ("sku_for_article", "article_for_sku"):
                offenders.append(f"{path.relative_to(ROOT)}: def {node.name}")
            if isinstance(node, ast.JoinedStr):
                names = [
                    v.value.id for v in node.values if isinstance(v, ast.FormattedValue) and hasattr(v.value, "id")
                ]
                if "prefix" in names and "article" in names:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: f-string of prefix and article")
    assert offenders == []
    assert not (ROOT / "feeds" / "sku.py").exists()
