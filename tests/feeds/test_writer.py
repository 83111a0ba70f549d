"""The writer and the schema, on their own (no database)."""

import io
from datetime import UTC
from decimal import Decimal

from lxml import etree

from catalog.text import clean_text
from feeds.validation import validate_bytes
from feeds.writer import City, FeedConfig, Offer, Store, escape_text, offers_from_products, write_feed

NS = {"k": "kaspiShopping"}
CONFIG = FeedConfig(company='Shop & <Co> "KZ"', merchant_id="30001234", stores=(Store("PP1"),))


def write(offers, config=CONFIG):
    out = io.BytesIO()
    result = write_feed(out, offers, config)
    return result, out.getvalue()


def product(article=20908, name="Колонки Mi", brand="Xiaomi", sale_price=12990, stock=12, **extra):
    return {
        "id": article,
        "article": article,
        "name": name,
        "brand__name": brand,
        "sale_price": sale_price,
        "stock": stock,
        "stock_qualifier": "=",
        "warehouse_stock": {},
        "publish_min_stock": 1,
        **extra,
    }


def test_output_validates_and_round_trips_awkward_names():
    names = ['Кабель "USB-C" & <Lightning>', "Tab\there\nnewline", "Bell\x07 null\x00 del\x7f end", "O'Reilly > 5"]
    offers = [Offer(f"AS{i}", name, "Brand & Sons", (5,), 1000 + i, i) for i, name in enumerate(names)]
    result, data = write(offers)
    assert result.valid, result.errors
    assert validate_bytes(data) == []
    root = etree.fromstring(data)
    assert root.tag == "{kaspiShopping}kaspi_catalog"
    assert root.get("date")
    assert root.findtext("k:company", namespaces=NS) == 'Shop & <Co> "KZ"'
    models = [m.text for m in root.iterfind("k:offers/k:offer/k:model", NS)]
    assert models == ['Кабель "USB-C" & <Lightning>', "Tab here newline", "Bell null del end", "O'Reilly > 5"]
    assert {b.text for b in root.iterfind("k:offers/k:offer/k:brand", NS)} == {"Brand & Sons"}
    assert b"&amp;" in data
    assert b"&lt;Lightning&gt;" in data
    assert (result.offers, result.available_offers) == (4, 4)


def test_names_are_escaped_exactly_as_lxml_writes_them_for_every_code_point():
    """The writer escapes names itself (one call into lxml per offer cost 15 % of the writing): the
    bytes must stay those lxml's own writer gives, for every character a cleaned name can hold."""
    code_points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = [clean_text("".join(code_points[i : i + 64])) for i in range(0, len(code_points), 64)]
    texts += ['Кабель "USB-C" & <Lightning> 1 м', "&amp; &lt; ]]> a>b<c", "O'Reilly"]
    out = io.BytesIO()
    with etree.xmlfile(out, encoding="utf-8", buffered=False) as xf, xf.element("names"):
        for text in texts:
            with xf.element("m"):
                xf.write(text)
    ours = ("<names>" + "".join(f"<m>{escape_text(text)}</m>" for text in texts) + "</names>").encode()
    assert len(texts) > 17_000
    assert "\r" not in "".join(texts)
    assert ours == out.getvalue()


def _doc(offer_xml: str) -> bytes:
    return (
        f'<kaspi_catalog xmlns="kaspiShopping" date="2026-11-28 10:00"><company>S</company>'
        f"<merchantid>1</merchantid><offers>{offer_xml}</offers></kaspi_catalog>"
    ).encode()


GOOD = (
    '<offer sku="AS1"><model>M</model><brand>B</brand><availabilities>'
    '<availability available="yes" storeId="PP1" stockCount="3"/></availabilities><price>100</price></offer>'
)


def test_schema_accepts_reference_shapes():
    city = (
        '<offer sku="AS2"><model>M</model><availabilities><availability available="yes" storeId="PP1" '
        'preOrder="5"/></availabilities><cityprices><cityprice cityId="750000000">13990</cityprice>'
        '<cityprice cityId="710000000">14490</cityprice></cityprices></offer>'
    )
    assert validate_bytes(_doc(GOOD + city)) == []


def test_schema_rejects_bad_documents():
    bad = {
        "decimal price": GOOD.replace("<price>100</price>", "<price>100.50</price>"),
        "zero price": GOOD.replace("<price>100</price>", "<price>0</price>"),
        "spaced price": GOOD.replace("<price>100</price>", "<price>1 000</price>"),
        "bad sku": GOOD.replace('sku="AS1"', 'sku="AS-1/2"'),
        "long sku": GOOD.replace('sku="AS1"', f'sku="{"A" * 21}"'),
        "cyrillic sku": GOOD.replace('sku="AS1"', 'sku="АС1"'),
        "missing model": GOOD.replace("<model>M</model>", ""),
        "empty model": GOOD.replace("<model>M</model>", "<model> </model>"),
        "no availability": GOOD.replace('<availability available="yes" storeId="PP1" stockCount="3"/>', ""),
        "available maybe": GOOD.replace('available="yes"', 'available="maybe"'),
        "preOrder 31": GOOD.replace('stockCount="3"', 'preOrder="31"'),
        "price and cityprices": GOOD.replace(
            "</price>", '</price><cityprices><cityprice cityId="1">5</cityprice></cityprices>'
        ),
        "wrong order": GOOD.replace("<model>M</model><brand>B</brand>", "<brand>B</brand><model>M</model>"),
        "signed price": GOOD.replace("<price>100</price>", "<price>+100</price>"),
        "padded price": GOOD.replace("<price>100</price>", "<price> 100 </price>"),
        "leading zero": GOOD.replace("<price>100</price>", "<price>0100</price>"),
        "signed stock": GOOD.replace('stockCount="3"', 'stockCount="+3"'),
        "negative zero stock": GOOD.replace('stockCount="3"', 'stockCount="-0"'),
        "signed preOrder": GOOD.replace('stockCount="3"', 'preOrder="+05"'),
        "dotted store": GOOD.replace('storeId="PP1"', 'storeId="a.b:c"'),
    }
    for label, offer in bad.items():
        assert validate_bytes(_doc(offer)), label
    assert validate_bytes(_doc(GOOD).replace(b'xmlns="kaspiShopping"', b"")), "no namespace"
    assert validate_bytes(_doc(GOOD)[:-20]), "truncated"


def test_sku_collision_is_reported_not_merged():
    offers = [Offer("AS1", "First", "", (1,), 100, 1), Offer("AS1", "Second", "", (1,), 200, 2)]
    result, data = write(offers)
    assert result.valid
    assert (result.offers, result.dropped_count) == (1, 1)
    assert result.dropped == [
        {"sku": "AS1", "article": 2, "reason": "SKU AS1 of article 2 collides with article 1."}
    ]  # said, never silent
    assert data.count(b'sku="AS1"') == 1
    assert b"First" in data
    assert b"Second" not in data


def test_business_checks_catch_what_the_writer_is_given():
    offers = [
        Offer("AS 1", "x", "", (1,), 100, 1),
        Offer("AS2", "\x01", "", (1,), 100, 2),
        Offer("AS3", "ok", "", (1,), Decimal("99.5"), 3),
        Offer("AS4", "ok", "", (1,), 0, 4),
    ]
    offers.append(Offer("AS5", "ok", "", (1,), 100, 5))
    result, data = write(offers)
    assert result.valid
    assert result.offers == 1
    assert result.dropped_count == 4  # one bad offer fails no other
    text = " ".join(d["reason"] for d in result.dropped)
    assert "AS 1" in text
    assert "AS2 has no name" in text
    assert "99.5" in text
    assert "AS4 has price 0" in text
    assert [d["sku"] for d in result.dropped] == ["AS 1", "AS2", "AS3", "AS4"]
    assert not validate_bytes(data)
    assert b'sku="AS5"' in data
    assert b'sku="AS4"' not in data


def test_sku_rule_is_latin_letters_and_digits_up_to_20():
    from catalog.sku import is_valid_sku

    assert is_valid_sku("AS20908")
    assert is_valid_sku("A" * 20)
    assert not any(is_valid_sku(s) for s in ("", "A" * 21, "АС1", "AS-1", "AS 1", "AS²", "AS١"))


def test_empty_offers_and_no_stores_are_errors():
    result, data = write([])
    assert not result.valid
    assert result.offers == 0
    assert validate_bytes(data) == []
    result, _ = write([Offer("AS1", "x", "", (), 100, 1)], FeedConfig("S", "1", stores=()))
    assert not result.valid


def test_stock_per_store_from_warehouse_mapping_with_thresholds_and_preorder():
    config = FeedConfig(
        "S",
        "1",
        stock_threshold=2,
        stores=(
            Store("PP1", warehouses=("almaty", "almaty2")),
            Store("PP2", pre_order=5, warehouses=("astana",)),
            Store("PP3"),
        ),
    )
    rows = [
        product(1, stock=9, warehouse_stock={"almaty": 3, "almaty2": 4, "astana": 1}),
        product(2, stock=0, warehouse_stock={}),
        product(3, stock=10, stock_qualifier="<", warehouse_stock={"astana": 10}, publish_min_stock=5),
    ]
    offers = list(offers_from_products(rows, config))
    assert [o.stocks for o in offers] == [(7, 0, 9), (0, 0, 0), (0, 10, 0)]
    result, data = write(offers, config)
    assert result.valid, result.errors
    assert result.available_offers == 2
    root = etree.fromstring(data)
    first = root.find("k:offers/k:offer", NS)
    assert [
        (a.get("storeId"), a.get("available"), a.get("stockCount"), a.get("preOrder"))
        for a in first.iterfind("k:availabilities/k:availability", NS)
    ] == [("PP1", "yes", "7", None), ("PP2", "no", None, None), ("PP3", "yes", "9", None)]
    third = root.findall("k:offers/k:offer", NS)[2]
    assert third.find("k:availabilities/k:availability[@storeId='PP2']", NS).get("preOrder") == "5"


def test_without_mapping_total_stock_goes_to_every_store():
    config = FeedConfig("S", "1", stores=(Store("PP1"), Store("PP2")))
    offers = list(offers_from_products([product(1, stock=4, warehouse_stock={"x": 1})], config))
    assert offers[0].stocks == (4, 4)


def test_cityprices_with_offsets_and_overrides():
    config = FeedConfig(
        "S",
        "1",
        cities=(
            City("750000000"),
            City("710000000", offset=500),
            City("620000000", percent=Decimal("2.5"), overrides={7: 9999}),
        ),
    )
    offers = list(offers_from_products([product(1, sale_price=10000), product(7, sale_price=10000)], config))
    assert offers[0].price == (("750000000", 10000), ("710000000", 10500), ("620000000", 10250))
    assert offers[1].price[2] == ("620000000", 9999)
    result, data = write(offers, config)
    assert result.valid, result.errors
    root = etree.fromstring(data)
    offer = root.find("k:offers/k:offer", NS)
    assert offer.find("k:price", NS) is None
    assert [(c.get("cityId"), c.text) for c in offer.iterfind("k:cityprices/k:cityprice", NS)] == [
        ("750000000", "10000"),
        ("710000000", "10500"),
        ("620000000", "10250"),
    ]


def test_offers_digest_ignores_the_date():
    from datetime import datetime

    offers = [Offer("AS1", "x", "", (1,), 100, 1)]
    a, b = io.BytesIO(), io.BytesIO()
    ra = write_feed(a, offers, CONFIG, now=datetime(2026, 1, 1, tzinfo=UTC))
    rb = write_feed(b, offers, CONFIG, now=datetime(2026, 1, 2, tzinfo=UTC))
    assert ra.sha256 != rb.sha256
    assert ra.offers_sha256 == rb.offers_sha256


def test_schema_is_our_own_file_loaded_once_and_says_so():
    from feeds.validation import SCHEMA_PATH, schema

    assert schema() is schema()  # parsed once per process, from disk
    text = SCHEMA_PATH.read_text()
    assert "could not be obtained offline" in text
    assert "NOT the official schema" in text


def test_prices_and_stock_beyond_the_schema_leave_only_their_offer_out():
    offers = [
        Offer("AS1", "ok", "", (1,), 10**12, 1),  # 13 digits: the schema takes at most 12
        Offer("AS2", "ok", "", (10**10,), 100, 2),  # stockCount: at most 10 digits
        Offer("AS3", "ok", "", (1,), (("750000000", 0),), 3),  # a city price of 0
        Offer("AS4", "ok", "", (1,), 999_999_999_999, 4),  # the largest price the schema takes
    ]
    result, data = write(offers)
    assert result.valid
    assert result.offers == 1
    assert [d["sku"] for d in result.dropped] == ["AS1", "AS2", "AS3"]
    assert validate_bytes(data) == []
    assert b"<price>999999999999</price>" in data
