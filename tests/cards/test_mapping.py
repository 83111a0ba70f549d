"""Kaspi classification cache and the mapping file (`card_mapping export|import`), over sockets."""

import json

import pytest
from django.core.management import CommandError, call_command

from cards.models import AttributeMapping, CategoryMapping, KaspiAttribute, KaspiAttributeValue, KaspiCategory
from cards.services.classification import refresh_classification
from cards.services.mapping import MappingFileError, export_mapping, import_mapping

from .conftest import NB, NOTEBOOK_MAPPING

pytestmark = pytest.mark.django_db


def test_classification_is_cached_with_attributes_and_enum_values(content, catalog):
    sandbox = content()
    import_mapping({"categories": [NOTEBOOK_MAPPING]})  # loads the mapped category's attributes
    sandbox.kaspi.clear_log()
    run = refresh_classification()
    assert run.status == "success", run.error
    codes = set(KaspiCategory.objects.values_list("code", flat=True))
    assert {"Master - Notebooks", "Master - Monitors", "Master - Computers"} <= codes
    processor = KaspiAttribute.objects.get(code=f"{NB}*processor")
    assert processor.type == "enum"
    assert processor.mandatory
    assert not processor.multi_valued
    assert set(processor.values.values_list("code", flat=True)) == {
        "Intel Core i3",
        "Intel Core i5",
        "Intel Core i7",
        "AMD Ryzen 5",
        "AMD Ryzen 7",
    }
    assert KaspiAttribute.objects.get(code=f"{NB}*color").multi_valued
    # only the mapped category's attributes are loaded by the daily refresh
    assert not KaspiAttribute.objects.filter(category__code="Master - Monitors").exists()
    assert sandbox.request_count("/classification/attribute/values") == 2  # two enum attributes


def test_a_category_kaspi_stops_listing_is_kept_but_marked(content, catalog):
    sandbox = content()
    import_mapping({"categories": [NOTEBOOK_MAPPING]})
    del sandbox.categories["Master - Mice"]
    refresh_classification()
    assert KaspiCategory.objects.get(code="Master - Mice").is_active is False
    assert KaspiCategory.objects.get(code="Master - Notebooks").is_active is True


def test_round_trip_export_import(content, catalog, tmp_path):
    content()
    data = {
        "categories": [
            {
                **NOTEBOOK_MAPPING,
                "attributes": [*NOTEBOOK_MAPPING["attributes"][:4], {"code": f"{NB}*color", "value": ["черный"]}],
            }
        ]
    }
    import_mapping(data)
    path = tmp_path / "mapping.json"
    call_command("card_mapping", "export", str(path))
    exported = json.loads(path.read_text())
    assert exported == export_mapping()
    entry = exported["categories"][0]
    assert entry["alstyle_category"] == 3514
    assert entry["kaspi_category"] == "Master - Notebooks"
    assert {"code": f"{NB}*color", "value": ["черный"]} in entry["attributes"]
    assert {"code": f"{NB}*processor", "property": "Процессор"} in entry["attributes"]
    CategoryMapping.objects.all().delete()
    call_command("card_mapping", "import", str(path))
    assert export_mapping() == exported


def test_import_replaces_only_the_categories_it_names(content, catalog):
    content()
    import_mapping({"categories": [NOTEBOOK_MAPPING]})
    import_mapping(
        {"categories": [{"alstyle_category": 3521, "kaspi_category": "Master - Notebooks", "attributes": []}]}
    )
    assert CategoryMapping.objects.count() == 2
    import_mapping({"categories": [{**NOTEBOOK_MAPPING, "attributes": [{"code": f"{NB}*ram", "value": 16}]}]})
    mapping = CategoryMapping.objects.get(alstyle_category_id=3514)
    filled = mapping.attributes.exclude(source="")
    assert list(filled.values_list("attribute__code", "value")) == [(f"{NB}*ram", 16)]
    assert mapping.attributes.filter(source="").count() == 5  # every other attribute listed, left empty
    assert CategoryMapping.objects.filter(alstyle_category_id=3521).exists()


def test_import_is_all_or_nothing_and_says_every_problem(content, catalog, tmp_path):
    content()
    import_mapping({"categories": [NOTEBOOK_MAPPING]})
    before = export_mapping()
    bad = {
        "categories": [
            {"alstyle_category": 3521, "kaspi_category": "Master - Notebooks", "attributes": []},  # fine
            {"alstyle_category": 3514, "kaspi_category": "Master - Flying cars", "attributes": []},
            {
                "alstyle_category": 3507,
                "kaspi_category": "Master - Notebooks",
                "attributes": [{"code": "Nope*x", "property": "P"}],
            },
        ]
    }
    with pytest.raises(MappingFileError) as info:
        import_mapping(bad)
    text = "\n".join(info.value.problems)
    assert "Master - Flying cars" in text
    assert "Nope*x" in text
    assert export_mapping() == before  # nothing written, not even the valid entry
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(CommandError, match="Ничего не загружено: проблем в файле — 2"):
        call_command("card_mapping", "import", str(path))
    assert export_mapping() == before


def test_import_refuses_fixed_values_kaspi_does_not_allow(content, catalog):
    content()
    data = {
        "categories": [
            {
                **NOTEBOOK_MAPPING,
                "attributes": [
                    {"code": f"{NB}*processor", "value": "Apple M2"},
                    {"code": f"{NB}*ram", "value": "много"},
                ],
            }
        ]
    }
    with pytest.raises(MappingFileError) as info:
        import_mapping(data)
    text = "\n".join(info.value.problems)
    assert "Apple M2" in text
    assert "Intel Core i5" in text  # the value and the allowed ones
    assert "много" in text
    assert not AttributeMapping.objects.exists()


def test_import_refuses_an_unknown_alstyle_category_and_malformed_files(content, catalog):
    content()
    with pytest.raises(MappingFileError):
        import_mapping({"categories": [{"alstyle_category": 999999, "kaspi_category": "Master - Notebooks"}]})
    with pytest.raises(MappingFileError):
        import_mapping([1, 2])
    with pytest.raises(MappingFileError):
        import_mapping({"categories": [{**NOTEBOOK_MAPPING, "attributes": [{"code": f"{NB}*ram"}]}]})
    assert not CategoryMapping.objects.exists()
    assert KaspiAttributeValue.objects.exists()  # the classification was read to check the file


MONITOR_MAPPING = {"alstyle_category": 3521, "kaspi_category": "Master - Monitors", "attributes": []}


def test_a_mapped_category_kaspi_stops_listing_does_not_stop_the_daily_refresh(content, catalog):
    sandbox = content()
    import_mapping({"categories": [NOTEBOOK_MAPPING, MONITOR_MAPPING]})
    del sandbox.categories["Master - Notebooks"]  # Kaspi answers 400 "Unknown category" for it now
    monitors = sandbox.categories["Master - Monitors"]["attributes"]
    monitors.append({**monitors[0], "code": monitors[0]["code"] + " new", "values": []})
    sandbox.seen.clear()
    run = refresh_classification()
    assert run.status == "success", run.error
    assert KaspiCategory.objects.get(code="Master - Notebooks").is_active is False
    assert KaspiAttribute.objects.filter(code=monitors[-1]["code"]).exists(), "the other mapping was refreshed"
    asked = [r["raw_query"] for r in sandbox.seen if r["path"] == "/classification/attributes"]
    assert asked == ["c=Master%20-%20Monitors"], asked


def test_one_category_kaspi_fails_to_describe_leaves_the_others_refreshed(content, catalog, monkeypatch):
    from kaspisync.sandbox.base import ApiError

    sandbox = content()
    import_mapping({"categories": [NOTEBOOK_MAPPING, MONITOR_MAPPING]})
    monitors = sandbox.categories["Master - Monitors"]["attributes"]
    monitors.append({**monitors[0], "code": monitors[0]["code"] + " new", "values": []})
    listed = sandbox.list_attributes

    def failing(code):
        if code == "Master - Notebooks":
            raise ApiError(500, "Internal Server Error")
        return listed(code)

    monkeypatch.setattr(sandbox, "list_attributes", failing)
    run = refresh_classification()
    assert KaspiAttribute.objects.filter(code=monitors[-1]["code"]).exists(), "the other mapping was refreshed"
    assert KaspiAttribute.objects.filter(code=f"{NB}*processor").exists(), "the cached attributes are kept"
    assert run.status == "failed", "staff and the alerts learn that a category could not be refreshed"
    assert "Master - Notebooks" in run.error, run.error
    assert "HTTP 500" in run.error, run.error
    assert run.stats["categories_with_attributes"] == 1, run.stats
