"""Al-Style B2B catalog API emulator, over real HTTP on loopback.

Al-Style has no sandbox; this stands in for it in `make run` (no ALSTYLE_TOKEN) and in the tests.

    sandbox = AlstyleSandbox(products=600, interval=0.0, token="t")
    with sandbox.serve() as server:
        server.url                                   # http://127.0.0.1:40123/api/
        sandbox.inject("500", times=2, method="elements-pagination", after=1)
        sandbox.update_product(10003, price1=55000, quantity=">50")
        sandbox.arrivals()                           # monotonic arrival times of every request
        sandbox.shift_during_paging = 1              # offset drift: a new product first after each page
        sandbox.omit_pagination = True               # pages without their "pagination" block
        sandbox.move_category(3521, None)            # the supplier re-files a category

Options: `latency` (seconds added to every answer), `products` (a size or a list of raw products).
CLI: `python -m kaspisync.sandbox alstyle --port 0 ...` prints "Al-Style sandbox: <url> (...)"
as its first line.

The catalog is deterministic (`generate_catalog(size, seed)`), in the raw API shape, with every
quirk seen in the wild: `quantity` as an int or a string (">50", ">100", "<10", "7"), `price1 == 1`
(price on request), the 9 999 999 placeholder, `rrp == 1` (none), numbers as strings, names with
`&`, `<`, `"` and control characters.

Choices where the real API is undocumented (the real one is a Yii2 REST application, so its
framework's error bodies are used):
- wrong or missing `access-token`: HTTP 401 `{"name": "Unauthorized", "message": ..., "status": 401}`;
- unknown method: HTTP 404 with the same body shape; unknown `additional_fields` name: HTTP 500;
- two requests with one token closer than `interval` seconds: the early one is refused and does
  not move the window. `quantity-price`, `quantity` and `date` answer HTTP 200
  `{"success": false, "message": ..., "interval": <seconds left>}`; every other method answers
  HTTP 403 `{"name": "Forbidden", ..., "interval": <seconds left>}`;
- `warehouses` (additional field) is an object keyed by warehouse code whose values are quantities
  in the same int-or-string form as `quantity`: `{"panfilov": 5, "karaganda": ">10"}`;
- `category` filters include the descendants of the given categories; `elements` returns a plain
  array;
- `properties` (`article` / `category` lists, `limit` ≤ 250, `offset`) answers
  `{"elements": [{"id", "article", "properties": [{"id", "name", "value", "sort"}]}], "pagination": {...}}`;
  the properties are realistic per category (`product_properties`): notebooks, monitors,
  smartphones and mice carry what Kaspi's demo categories ask for (kaspi_content.py), now and
  then in a form no Kaspi list allows (a processor "Apple M2", a colour "мятный"), every product
  a warranty, a colour and a country.

Control endpoints (no token) for tests that drive a separate worker process:
`POST /_sandbox/faults` `{"kind", "times", "method", "after", "delay"}`, `POST /_sandbox/faults/clear`,
`POST /_sandbox/catalog` `{"update": {"<article>": {...fields}}, "remove": [...], "add": N,
"shift_during_paging": N, "interval": seconds}`,
`POST /_sandbox/reset` (faults and request log), `GET /_sandbox/stats`.
"""

import argparse
import json
import math
import random
import threading
import time
import uuid
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import orjson

from .base import FaultQueue, LoopbackServer, Response, SandboxHandler

API_PREFIX = "/api/"
MAX_LIMIT = 250
DEFAULT_LIMIT = 100
PLACEHOLDER_PRICE = 9_999_999
BASE_FIELDS = (
    "article",
    "article_pn",
    "name",
    "full_name",
    "category",
    "price1",
    "price2",
    "quantity",
    "isnew",
    "quantityMarkdown",
    "priceMarkdown",
)
ADDITIONAL_FIELDS = (
    "description",
    "brand",
    "weight",
    "warranty",
    "images",
    "url",
    "barcode",
    "reducedprice",
    "expectedArrivalDate",
    "discountPrice",
    "discount",
    "certificates",
    "instructions",
    "reservationTime",
    "reservationDate",
    "defectDescription",
    "rrp",
    "warehouse",
    "warehouses",
    "marketplaceArticles",
    "tnved",
    "multiplicity",
)
INFO_FIELDS = ("detailText", "properties")
THROTTLE_BODY_METHODS = ("quantity-price", "quantity", "date")
CACHED_METHODS = ("categories", "brands", "elements-pagination", "elements", "quantity-price")  # big and repeated
WAREHOUSES = {
    "panfilov": {
        "name": "Склад на Панфилова",
        "city": "Алматы",
        "address": "ул. Панфилова, 98",
        "lat": 43.2567,
        "lon": 76.9454,
    },
    "rayimbek": {
        "name": "Склад на Райымбека",
        "city": "Алматы",
        "address": "пр. Райымбека, 212",
        "lat": 43.2633,
        "lon": 76.8889,
    },
    "astana": {"name": "Склад Астана", "city": "Астана", "address": "ул. Сыганак, 25", "lat": 51.1282, "lon": 71.4304},
    "karaganda": {
        "name": "Склад Караганда",
        "city": "Караганда",
        "address": "пр. Бухар жырау, 49",
        "lat": 49.8047,
        "lon": 73.1094,
    },
}

# (name, children) or (name, children, leaf spec). A leaf spec: noun, brands, price range (KZT), specs.
_LAPTOP_BRANDS = ["Lenovo", "HP", "ASUS", "Acer", "Dell", "MSI", "Apple"]
CATEGORY_TREE = [
    (
        "Компьютеры и ноутбуки",
        [
            (
                "Ноутбуки",
                [
                    (
                        "Игровые ноутбуки",
                        [],
                        (
                            "Ноутбук",
                            _LAPTOP_BRANDS,
                            (450_000, 1_500_000),
                            ['RTX 4060/16GB/1TB SSD 15.6"', 'RTX 4070/32GB/1TB SSD 16"'],
                        ),
                    ),
                    (
                        "Ультрабуки",
                        [],
                        (
                            "Ноутбук",
                            _LAPTOP_BRANDS,
                            (350_000, 1_200_000),
                            ['Core i7/16GB/512GB SSD 14"', 'Ryzen 7/16GB/1TB SSD 13.3"'],
                        ),
                    ),
                    (
                        "Ноутбуки для бизнеса",
                        [],
                        (
                            "Ноутбук",
                            _LAPTOP_BRANDS,
                            (250_000, 900_000),
                            ['Core i5/8GB/256GB SSD 15.6"', 'Core i5/16GB/512GB SSD 14"'],
                        ),
                    ),
                ],
            ),
            (
                "Моноблоки",
                [],
                (
                    "Моноблок",
                    ["Lenovo", "HP", "Acer"],
                    (300_000, 900_000),
                    ['23.8" Core i5/8GB/512GB', '27" Core i7/16GB/1TB'],
                ),
            ),
            (
                "Настольные ПК",
                [],
                (
                    "Системный блок",
                    ["Lenovo", "HP", "Dell"],
                    (200_000, 800_000),
                    ["Core i3/8GB/256GB", "Core i5/16GB/512GB"],
                ),
            ),
            (
                "Планшеты",
                [],
                (
                    "Планшет",
                    ["Samsung", "Apple", "Lenovo", "Xiaomi"],
                    (60_000, 600_000),
                    ['10.1" 4/64GB', '11" 8/256GB Wi-Fi'],
                ),
            ),
        ],
    ),
    (
        "Комплектующие",
        [
            (
                "Видеокарты",
                [],
                (
                    "Видеокарта",
                    ["ASUS", "MSI", "Gigabyte", "Palit", "Zotac"],
                    (80_000, 900_000),
                    ["RTX 4060 8GB GDDR6", "RTX 4070 Super 12GB", "RX 7600 8GB"],
                ),
            ),
            (
                "Процессоры",
                [],
                (
                    "Процессор",
                    ["Intel", "AMD"],
                    (40_000, 350_000),
                    ["Core i5-13400F OEM", "Ryzen 5 7600 BOX", "Core i7-14700K BOX"],
                ),
            ),
            (
                "Материнские платы",
                [],
                (
                    "Материнская плата",
                    ["ASUS", "MSI", "Gigabyte", "ASRock"],
                    (35_000, 250_000),
                    ["B760M DDR5", "B650 ATX", "H610M mATX"],
                ),
            ),
            (
                "Оперативная память",
                [],
                (
                    "Оперативная память",
                    ["Kingston", "Corsair", "Samsung", "Patriot"],
                    (8_000, 90_000),
                    ["DDR4 8GB 3200MHz", "DDR5 16GB 5600MHz", "DDR5 2x16GB 6000MHz"],
                ),
            ),
            (
                "Накопители",
                [
                    (
                        "SSD накопители",
                        [],
                        (
                            "SSD накопитель",
                            ["Samsung", "Kingston", "WD", "Crucial"],
                            (12_000, 150_000),
                            ["500GB M.2 NVMe", "1TB M.2 NVMe", "480GB SATA"],
                        ),
                    ),
                    (
                        "Жёсткие диски",
                        [],
                        (
                            "Жёсткий диск",
                            ["Seagate", "WD", "Toshiba"],
                            (20_000, 120_000),
                            ['1TB 7200rpm 3.5"', "4TB SATA III"],
                        ),
                    ),
                ],
            ),
            (
                "Блоки питания",
                [],
                (
                    "Блок питания",
                    ["Chieftec", "Corsair", "be quiet!", "Deepcool"],
                    (15_000, 120_000),
                    ["600W 80+ Bronze", "850W 80+ Gold"],
                ),
            ),
            (
                "Корпуса",
                [],
                (
                    "Корпус",
                    ["Deepcool", "Zalman", "Cougar", "NZXT"],
                    (15_000, 90_000),
                    ["ATX Midi-Tower без БП", "mATX Mini-Tower"],
                ),
            ),
            (
                "Системы охлаждения",
                [],
                ("Кулер", ["Deepcool", "Noctua", "Arctic"], (5_000, 70_000), ["для процессора 120мм", "СЖО 240мм"]),
            ),
        ],
    ),
    (
        "Периферия",
        [
            (
                "Мониторы",
                [],
                (
                    "Монитор",
                    ["Samsung", "LG", "Philips", "AOC", "Dell"],
                    (45_000, 450_000),
                    ['23.8" IPS 75Hz', '27" IPS 165Hz', '34" VA изогнутый'],
                ),
            ),
            (
                "Клавиатуры",
                [],
                (
                    "Клавиатура",
                    ["Logitech", "A4Tech", "Defender", "HyperX"],
                    (3_000, 70_000),
                    ["проводная USB", "механическая RGB", "беспроводная"],
                ),
            ),
            (
                "Мыши",
                [],
                (
                    "Мышь",
                    ["Logitech", "A4Tech", "Razer", "Defender"],
                    (2_000, 50_000),
                    ["оптическая USB", "беспроводная 2.4GHz", "игровая 16000dpi"],
                ),
            ),
            (
                "Наушники и гарнитуры",
                [],
                (
                    "Гарнитура",
                    ["Logitech", "HyperX", "JBL", "Sony"],
                    (5_000, 150_000),
                    ["проводная 3.5мм", "беспроводная Bluetooth"],
                ),
            ),
            (
                "Веб-камеры",
                [],
                ("Веб-камера", ["Logitech", "A4Tech", "Defender"], (5_000, 60_000), ["1080p USB", "720p с микрофоном"]),
            ),
        ],
    ),
    (
        "Оргтехника",
        [
            (
                "Принтеры и МФУ",
                [
                    (
                        "Лазерные принтеры",
                        [],
                        (
                            "Принтер лазерный",
                            ["HP", "Canon", "Pantum", "Brother"],
                            (45_000, 300_000),
                            ["A4 ч/б", "A4 цветной Wi-Fi"],
                        ),
                    ),
                    (
                        "Струйные принтеры",
                        [],
                        ("Принтер струйный", ["Epson", "Canon", "HP"], (40_000, 200_000), ["A4 СНПЧ", "A3 цветной"]),
                    ),
                    (
                        "МФУ",
                        [],
                        (
                            "МФУ",
                            ["HP", "Canon", "Pantum", "Kyocera"],
                            (70_000, 500_000),
                            ["лазерное A4 ч/б", "струйное A4 СНПЧ"],
                        ),
                    ),
                ],
            ),
            (
                "Расходные материалы",
                [
                    (
                        "Картриджи",
                        [],
                        (
                            "Картридж",
                            ["HP", "Canon", "Europrint", "Pantum"],
                            (3_000, 60_000),
                            ["85A (CE285A) черный", "737 черный", "PC-211EV"],
                        ),
                    ),
                    (
                        "Бумага",
                        [],
                        (
                            "Бумага",
                            ["SvetoCopy", "Double A", "Xerox"],
                            (2_000, 6_000),
                            ["A4 80г/м2 500л", "A3 80г/м2 500л"],
                        ),
                    ),
                ],
            ),
            (
                "Сканеры",
                [],
                ("Сканер", ["Canon", "Epson", "Avision"], (50_000, 400_000), ["планшетный A4", "протяжный A4 дуплекс"]),
            ),
        ],
    ),
    (
        "Сетевое оборудование",
        [
            (
                "Маршрутизаторы",
                [],
                (
                    "Маршрутизатор",
                    ["TP-Link", "MikroTik", "Keenetic", "ASUS"],
                    (8_000, 150_000),
                    ["Wi-Fi 5 AC1200", "Wi-Fi 6 AX1800"],
                ),
            ),
            (
                "Коммутаторы",
                [],
                (
                    "Коммутатор",
                    ["TP-Link", "D-Link", "MikroTik"],
                    (5_000, 400_000),
                    ["8 портов 1Гбит/с", "24 порта управляемый"],
                ),
            ),
            (
                "Точки доступа Wi-Fi",
                [],
                (
                    "Точка доступа",
                    ["Ubiquiti", "TP-Link", "MikroTik"],
                    (15_000, 120_000),
                    ["потолочная PoE", "уличная 5GHz"],
                ),
            ),
            (
                "Кабели и патч-корды",
                [],
                (
                    "Кабель",
                    ["Cablexpert", "SHIP", "Vention"],
                    (500, 15_000),
                    ["HDMI<->HDMI 1.8м", "UTP Cat.6 305м", "USB-C <-> USB-A 1м"],
                ),
            ),
        ],
    ),
    (
        "Электропитание",
        [
            (
                "ИБП",
                [],
                (
                    "ИБП",
                    ["APC", "Ippon", "SVC", "Eaton"],
                    (20_000, 700_000),
                    ["650VA линейно-интерактивный", "1500VA онлайн"],
                ),
            ),
            (
                "Сетевые фильтры",
                [],
                ("Сетевой фильтр", ["APC", "SVC", "Defender"], (2_000, 15_000), ["5 розеток 1.8м", "6 розеток 3м"]),
            ),
            ("Стабилизаторы", [], ("Стабилизатор", ["SVC", "Ресанта"], (10_000, 120_000), ["1000VA", "3000VA"])),
        ],
    ),
    (
        "Смартфоны и гаджеты",
        [
            (
                "Смартфоны",
                [],
                (
                    "Смартфон",
                    ["Samsung", "Apple", "Xiaomi", "realme", "POCO"],
                    (50_000, 900_000),
                    ["6/128GB черный", "8/256GB синий", "12/512GB"],
                ),
            ),
            (
                "Умные часы",
                [],
                ("Смарт-часы", ["Apple", "Samsung", "Xiaomi", "Huawei"], (15_000, 400_000), ["44мм", "AMOLED GPS"]),
            ),
            (
                "Power bank",
                [],
                (
                    "Внешний аккумулятор",
                    ["Xiaomi", "Anker", "Baseus"],
                    (5_000, 40_000),
                    ["10000mAh", "20000mAh PD 22.5W"],
                ),
            ),
        ],
    ),
    (
        "ТВ, аудио, видео",
        [
            (
                "Телевизоры",
                [],
                (
                    "Телевизор",
                    ["Samsung", "LG", "Xiaomi", "TCL"],
                    (90_000, 1_500_000),
                    ['43" 4K Smart TV', '55" QLED 4K', '65" OLED'],
                ),
            ),
            (
                "Проекторы",
                [],
                ("Проектор", ["Epson", "BenQ", "ViewSonic"], (150_000, 900_000), ["Full HD 3600лм", "4K лазерный"]),
            ),
            (
                "Акустика",
                [],
                ("Колонки", ["JBL", "Sven", "Defender", "Edifier"], (5_000, 200_000), ["2.0 USB", "2.1 Bluetooth"]),
            ),
        ],
    ),
    (
        "Уценённые товары",
        [],
        (
            "Уценка:",
            ["Samsung", "HP", "Lenovo", "Xiaomi"],
            (5_000, 300_000),
            ["вскрытая упаковка", "следы эксплуатации"],
        ),
    ),
]


# --- the deterministic catalog ---------------------------------------------------------------------
def generate_categories() -> list[dict]:
    """The category tree as a flat nested set, in `left` order; `elements` is filled by the sandbox."""
    rows: list[dict] = []
    counter = {"left": 1, "id": 3500}

    def walk(nodes, level):
        for node in nodes:
            name, children = node[0], node[1]
            counter["id"] += 7
            row = {
                "id": counter["id"],
                "name": name,
                "left": counter["left"],
                "right": 0,
                "level": level,
                "elements": 0,
                "_spec": node[2] if len(node) > 2 else None,
            }
            counter["left"] += 1
            rows.append(row)
            walk(children, level + 1)
            row["right"] = counter["left"]
            counter["left"] += 1

    walk(CATEGORY_TREE, 1)
    return rows


def _quantity(rng: random.Random):
    roll = rng.random()
    if roll < 0.30:
        return 0
    if roll < 0.58:
        return rng.randint(1, 50)
    if roll < 0.68:
        return ">50"
    if roll < 0.73:
        return ">100"
    if roll < 0.85:
        return "<10"
    return str(rng.randint(1, 30))  # a number that arrives as a string


def _ean(rng: random.Random) -> str:
    digits = [rng.randint(0, 9) for _ in range(12)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def _name(rng: random.Random, noun: str, brand: str, model: str, spec: str) -> str:
    name = f"{noun} {brand} {model} {spec}"
    roll = rng.random()
    if roll < 0.03:
        name = f"{noun} {brand} & {model} {spec}"
    elif roll < 0.05:
        name += " <для офиса>"
    elif roll < 0.08:
        name = f'{noun} {brand} "{model}" {spec}'
    elif roll < 0.09:
        name += "\x0b\x1f"  # control characters, as seen in the supplier's data
    elif roll < 0.095:
        name = f"  {name}\t"
    return name


def _product(rng: random.Random, article: int, category: dict, brand_index: dict) -> dict:
    noun, brands, (low, high), specs = category["_spec"]
    brand = rng.choice(brands)
    model = f"{rng.choice('ABCDEFGHKMNPRSTVXZ')}{rng.choice('ABCDEFGHKMNPRSTVXZ')}{rng.randint(100, 9999)}"
    spec = rng.choice(specs)
    name = _name(rng, noun, brand, model, spec)
    dealer = round(math.exp(rng.uniform(math.log(low), math.log(high))) / 10) * 10
    retail = round(dealer * rng.uniform(1.08, 1.3) / 10) * 10
    roll = rng.random()
    price1: object = dealer
    if roll < 0.03:
        price1 = 1  # price on request
    elif roll < 0.05:
        price1 = PLACEHOLDER_PRICE
        retail = PLACEHOLDER_PRICE
    elif roll < 0.12:
        price1 = str(dealer)
    price2: object = str(retail) if rng.random() < 0.05 else retail
    rrp: object = 1 if rng.random() < 0.5 else round(retail * 1.05 / 10) * 10
    weight: object = round(rng.uniform(0.05, 25), 2)
    if rng.random() < 0.2:
        weight = str(weight)
    images = [f"http://img.al-style.kz/{article}_{n}.jpg" for n in range(1, rng.randint(0, 5) + 1)]
    warehouses = {code: _quantity(rng) for code in WAREHOUSES if rng.random() < 0.6}
    quantity = _quantity(rng)
    brand_index[brand] = brand_index.get(brand, 0) + 1
    return {
        "article": article,
        "article_pn": _ean(rng) if rng.random() < 0.1 else f"{model}-{rng.randint(10, 99)}{rng.choice('ABCXZ')}",
        "name": name,
        "full_name": f"{noun} {brand} {model}, {spec}, гарантия {rng.choice([12, 24, 36])} мес.",
        "category": category["id"],
        "price1": price1,
        "price2": price2,
        "quantity": quantity,
        "isnew": 1 if rng.random() < 0.1 else 0,
        "quantityMarkdown": 1 if rng.random() < 0.02 else 0,
        "priceMarkdown": round(dealer * 0.8) if rng.random() < 0.02 else 0,
        "brand": brand,
        "images": images,
        "barcode": _ean(rng) if rng.random() < 0.85 else "",
        "weight": weight,
        "warranty": f"{rng.choice([6, 12, 24, 36])} мес.",
        "url": f"https://al-style.kz/catalog/{category['id']}/{article}/",
        "description": f"{noun} {brand} {model}: {spec}. Официальная гарантия производителя.",
        "rrp": rrp,
        "warehouses": warehouses,
        "warehouse": sum(v for v in warehouses.values() if isinstance(v, int)),
        "discountPrice": 0,
        "discount": 0,
        "reducedprice": 0,
        "expectedArrivalDate": "",
        "certificates": [],
        "instructions": [],
        "reservationTime": 0,
        "reservationDate": "",
        "defectDescription": "",
        "marketplaceArticles": {},
        "tnved": str(8471300000 + rng.randint(0, 99)),
        "multiplicity": 1,
    }


# --- product properties (the `properties` method), per leaf category --------------------------------
_COLOURS = ["черный", "черный", "серый", "серебристый", "белый", "синий", "мятный"]
_NOTEBOOK = [
    ("Диагональ экрана", lambda r, p: r.choice(['15,6"', '14"', '16"', '13,3"', '17,3"'])),
    (
        "Процессор",
        lambda r, p: r.choice(
            ["Intel Core i5", "Intel Core i7", "AMD Ryzen 5", "AMD Ryzen 7", "Intel Core i3", "Apple M2"]
        ),
    ),
    ("Объем оперативной памяти", lambda r, p: r.choice(["8 ГБ", "16 ГБ", "32 ГБ"])),
    ("Подсветка клавиатуры", lambda r, p: r.choice(["Да", "Нет", "да"])),
    ("Вес", lambda r, p: f"{r.choice(['1,2', '1,6', '2', '2,4', '2,9'])} кг"),
]
PROPERTY_SPECS = {
    "Игровые ноутбуки": _NOTEBOOK,
    "Ультрабуки": _NOTEBOOK,
    "Ноутбуки для бизнеса": _NOTEBOOK,
    "Мониторы": [
        ("Диагональ экрана", lambda r, p: r.choice(['23,8"', '27"', '34"', '24"'])),
        ("Тип матрицы", lambda r, p: r.choice(["IPS", "VA", "TN", "ips", "PLS"])),
        ("Частота обновления", lambda r, p: r.choice(["60 Гц", "75 Гц", "144 Гц", "165 Гц"])),
        ("Изогнутый экран", lambda r, p: r.choice(["Нет", "Нет", "Да"])),
    ],
    "Смартфоны": [
        ("Объем оперативной памяти", lambda r, p: r.choice(["6 ГБ", "8 ГБ", "12 ГБ"])),
        ("Встроенная память", lambda r, p: r.choice(["128 ГБ", "256 ГБ", "512 ГБ"])),
        ("NFC", lambda r, p: r.choice(["Да", "Да", "Нет"])),
    ],
    "Мыши": [
        ("Тип подключения", lambda r, p: r.choice(["проводная", "беспроводная", "Беспроводная"])),
        ("Разрешение сенсора", lambda r, p: r.choice(["1000 dpi", "1600 dpi", "16000 dpi", "до 4000 dpi"])),
    ],
}


def product_properties(product: dict, category_name: str, seed: int = 42) -> list[dict]:
    """The supplier's properties of one product, deterministic (the `properties` method's shape)."""
    rng = random.Random(f"{seed}:properties:{product['article']}")
    rows = [(name, make(rng, product)) for name, make in PROPERTY_SPECS.get(category_name, [])]
    if rng.random() < 0.9:  # a colour is missing now and then: an optional attribute stays empty
        rows.append(("Цвет", rng.choice(_COLOURS)))
    rows += [
        ("Гарантия", product.get("warranty") or "12 мес."),
        ("Страна производства", rng.choice(["Китай", "Вьетнам", "Тайвань"])),
    ]
    if rows and rng.random() < 0.05:  # now and then the supplier leaves a key property out
        rows.pop(0)
    return [{"id": 100 + n, "name": name, "value": value, "sort": 10 * (n + 1)} for n, (name, value) in enumerate(rows)]


def generate_catalog(size: int = 7000, seed: int = 42) -> list[dict]:
    """`size` products in the raw API shape (every additional field included), deterministic."""
    rng = random.Random(seed)
    leaves = [c for c in generate_categories() if c["_spec"]]
    weights = [len(c["_spec"][1]) for c in leaves]
    article = 10000
    products = []
    brand_index: dict[str, int] = {}
    for _ in range(size):
        article += rng.randint(1, 3) if size < 40000 else rng.randint(1, 2)
        products.append(_product(rng, article, rng.choices(leaves, weights)[0], brand_index))
    return products


def brand_guid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"al-style.kz/brand/{name}")).upper()


# --- the emulator's state --------------------------------------------------------------------------
class AlstyleSandbox:
    """Catalog, tokens, minimum interval, faults and the request log (arrival times)."""

    def __init__(
        self,
        products: int | list[dict] = 7000,
        *,
        seed: int = 42,
        interval: float = 5.0,
        token: str = "sandbox-token",
        latency: float = 0.0,
    ):
        self.lock = threading.RLock()
        self.latency = latency  # seconds added to every API answer
        self.seed = seed
        self.interval = float(interval)
        self.token = token
        self.products: list[dict] = generate_catalog(products, seed) if isinstance(products, int) else list(products)
        self.categories = generate_categories()
        self.faults = FaultQueue()
        self.log: list[dict] = []  # {"at": monotonic, "method", "query", "status", "accepted"}
        self.shift_during_paging = 0  # insert N products at the front after each page (offset drift)
        self.omit_pagination = False  # answer pages without their "pagination" block
        self._last_accepted: dict[str, float] = {}
        self._cache: dict[tuple, bytes] = {}
        self._added = 0
        self.version = 0
        self.updated_at = datetime.now()

    # --- catalog mutations (the "supplier" changing its data) ------------------------------------
    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()
        self.updated_at = datetime.now()

    def update_product(self, article: int, **fields) -> None:
        with self.lock:
            for product in self.products:
                if product["article"] == int(article):
                    product.update(fields)
                    break
            else:
                raise KeyError(article)
            self._changed()

    def remove_products(self, articles) -> None:
        articles = {int(a) for a in articles}
        with self.lock:
            self.products = [p for p in self.products if p["article"] not in articles]
            self._changed()

    def add_products(self, count: int, *, front: bool = False) -> list[int]:
        """New products (articles above every existing one); `front` puts them first in paging order."""
        with self.lock:
            rng = random.Random(self.seed * 7919 + self._added)
            leaves = [c for c in self.categories if c["_spec"]]
            top = max((p["article"] for p in self.products), default=10000)
            new = [_product(rng, top + i + 1, rng.choice(leaves), {}) for i in range(count)]
            self._added += count
            self.products = new + self.products if front else self.products + new
            self._changed()
            return [p["article"] for p in new]

    def move_category(self, category_id: int, new_parent_id: int | None) -> None:
        """The supplier re-files a category, with its subtree, under another parent (None: top)."""
        with self.lock:
            parents, stack = {}, []
            for c in self.categories:  # in `left` order
                while stack and stack[-1]["right"] < c["left"]:
                    stack.pop()
                parents[c["id"]] = stack[-1]["id"] if stack else None
                stack.append(c)
            node = new_parent_id
            while node is not None:
                if node == category_id:
                    raise ValueError("a category cannot move under itself")
                node = parents[node]
            parents[category_id] = new_parent_id
            children: dict[int | None, list[dict]] = {}
            for c in self.categories:
                children.setdefault(parents[c["id"]], []).append(c)
            rows, counter = [], [1]

            def walk(parent_id, level):
                for c in children.get(parent_id, []):
                    c.update(left=counter[0], level=level)
                    counter[0] += 1
                    rows.append(c)
                    walk(c["id"], level + 1)
                    c["right"] = counter[0]
                    counter[0] += 1

            walk(None, 1)
            self.categories = rows
            self._changed()

    # --- faults --------------------------------------------------------------------------------
    def inject(self, kind: str, times: int = 1, *, method: str = "", after: int = 0, delay: float = 3.0) -> None:
        """Fail the next `times` API requests (to `method`, if given), after letting `after` of them
        through. Kinds (`kaspisync.sandbox.base.FAULT_KINDS`, as the Kaspi sandbox): an HTTP
        status ("500", "502", "503", "403", "429"; 403 and 429 state an `interval`), "interval" (a
        `success: false` body), "timeout" (the answer after `delay` s), "malformed" (not JSON),
        "truncated" (the connection closes half-way through the body), "drop" (closed without an
        answer), "slow" (the right answer, `delay` s late)."""
        self.faults.inject(kind, times, where=method, after=after, delay=delay)

    def clear_faults(self) -> int:
        """Drop the faults still queued; return how many requests they would have failed."""
        return self.faults.clear()

    def _take_fault(self, method: str):
        return self.faults.take(lambda where: where in ("", method))

    # --- request log and the minimum interval ----------------------------------------------------
    def _admit(self, token: str, method: str, query: dict) -> float | None:
        """Record the arrival; return None if admitted, else the seconds left before the next slot."""
        now = time.monotonic()
        with self.lock:
            entry = {"at": now, "method": method, "query": query, "token_ok": token == self.token, "accepted": True}
            self.log.append(entry)
            if token != self.token:
                return None
            last = self._last_accepted.get(token)
            if last is not None and now - last < self.interval:
                entry["accepted"] = False
                return self.interval - (now - last)
            self._last_accepted[token] = now
            return None

    def arrivals(self, method: str | None = None, accepted_only: bool = False) -> list[float]:
        with self.lock:
            return [
                e["at"]
                for e in self.log
                if (method is None or e["method"] == method) and (e["accepted"] or not accepted_only)
            ]

    def request_count(self, method: str | None = None) -> int:
        return len(self.arrivals(method))

    def reset(self) -> None:
        with self.lock:
            self.clear_faults()
            self.log.clear()
            self._last_accepted.clear()

    def stats(self) -> dict:
        with self.lock:
            by_method: dict[str, int] = {}
            for e in self.log:
                by_method[e["method"]] = by_method.get(e["method"], 0) + 1
            return {
                "requests": len(self.log),
                "refused_too_early": sum(1 for e in self.log if not e["accepted"]),
                "by_method": by_method,
                "products": len(self.products),
                "version": self.version,
            }

    # --- API methods -----------------------------------------------------------------------------
    def category_rows(self) -> list[dict]:
        counts: dict[int, int] = {}
        for p in self.products:
            counts[p["category"]] = counts.get(p["category"], 0) + 1
        rows = []
        for c in self.categories:
            total = sum(counts.get(d["id"], 0) for d in self.categories if c["left"] <= d["left"] < c["right"])
            rows.append(
                {
                    "id": c["id"],
                    "name": c["name"],
                    "left": c["left"],
                    "right": c["right"],
                    "level": c["level"],
                    "elements": total,
                }
            )
        return rows

    def brand_rows(self) -> dict:
        counts: dict[str, int] = {}
        for p in self.products:
            counts[p["brand"]] = counts.get(p["brand"], 0) + 1
        return {
            "status": True,
            "data": [{"id": brand_guid(n), "name": n, "count": c} for n, c in sorted(counts.items())],
        }

    def category_list(self, query: dict) -> list[dict]:
        """Every category, or the descendants of `id`."""
        rows = self.category_rows()
        parent = next((r for r in rows if str(r["id"]) == query.get("id")), None)
        if query.get("id"):
            rows = [r for r in rows if parent and parent["left"] < r["left"] < parent["right"]]
        return rows

    def _filtered(self, query: dict) -> list[dict]:
        products = self.products
        if query.get("category"):
            wanted = {int(x) for x in query["category"].split(",") if x.strip().isdigit()}
            ranges = [(c["left"], c["right"]) for c in self.categories if c["id"] in wanted]
            ids = {c["id"] for c in self.categories if any(lo <= c["left"] < hi for lo, hi in ranges)}
            products = [p for p in products if p["category"] in ids]
        if query.get("brand"):
            products = [p for p in products if brand_guid(p["brand"]) == query["brand"].upper()]
        if query.get("exclude_missing") == "1":
            products = [p for p in products if p["quantity"] not in (0, "0")]
        return products

    @staticmethod
    def _fields(query: dict, extra: tuple = ()) -> tuple:
        """The requested additional fields; ValueError on a name the API does not know."""
        names = tuple(n.strip() for n in query.get("additional_fields", "").split(",") if n.strip())
        unknown = [n for n in names if n not in ADDITIONAL_FIELDS + extra]
        if unknown:
            raise ValueError(unknown)
        return BASE_FIELDS + names

    @staticmethod
    def _project(product: dict, fields: tuple, category_names: dict | None = None) -> dict:
        category_names = category_names or {}
        out = {f: product[f] for f in fields if f in product}
        if "detailText" in fields:
            out["detailText"] = f"<p>{product['description']}</p>"
        if "properties" in fields:
            out["properties"] = product_properties(product, category_names.get(product["category"], ""))
        return out

    def page(self, query: dict) -> dict:
        fields = self._fields(query)
        limit = max(1, min(MAX_LIMIT, _int(query.get("limit"), DEFAULT_LIMIT)))
        offset = max(0, _int(query.get("offset"), 0))
        products = self._filtered(query)
        total = len(products)
        answer = {"elements": [self._project(p, fields) for p in products[offset : offset + limit]]}
        if not self.omit_pagination:
            answer["pagination"] = {
                "totalCount": total,
                "totalPages": math.ceil(total / limit),
                "currentPage": offset // limit + 1,
                "limit": limit,
                "offset": offset,
            }
        return answer

    def element_info(self, query: dict) -> list[dict]:
        fields = self._fields(query, INFO_FIELDS)
        if query.get("article"):
            wanted = {int(a) for a in query["article"].split(",") if a.strip().isdigit()}
            found = [p for p in self.products if p["article"] in wanted]
        elif query.get("article_pn"):
            found = [p for p in self.products if p["article_pn"] == query["article_pn"]]
        elif query.get("name"):
            found = [p for p in self.products if query["name"].lower() in p["name"].lower()][:50]
        else:
            found = []
        names = {c["id"]: c["name"] for c in self.categories}
        return [self._project(p, fields, names) for p in found]

    def properties(self, query: dict) -> dict:
        """The `properties` method: by `article` and/or `category` (with descendants), paged."""
        products = self._filtered({"category": query.get("category", "")}) if query.get("category") else self.products
        if query.get("article"):
            wanted = {int(a) for a in query["article"].split(",") if a.strip().isdigit()}
            products = [p for p in products if p["article"] in wanted]
        elif not query.get("category"):
            products = []
        limit = max(1, min(MAX_LIMIT, _int(query.get("limit"), DEFAULT_LIMIT)))
        offset = max(0, _int(query.get("offset"), 0))
        names = {c["id"]: c["name"] for c in self.categories}
        elements = [
            {
                "id": p["article"] * 10 + 1,
                "article": p["article"],
                "properties": product_properties(p, names.get(p["category"], "")),
            }
            for p in products[offset : offset + limit]
        ]
        return {
            "elements": elements,
            "pagination": {
                "totalCount": len(products),
                "totalPages": math.ceil(len(products) / limit),
                "limit": limit,
                "offset": offset,
            },
        }

    def _by_article(self, query: dict) -> list[dict]:
        if not query.get("article"):
            return self.products
        wanted = {int(a) for a in query["article"].split(",")[:1000] if a.strip().isdigit()}
        return [p for p in self.products if p["article"] in wanted]

    def quantity_price(self, query: dict) -> dict:
        return {
            str(p["article"]): {
                "quantity": p["quantity"],
                "price1": p["price1"],
                "price2": p["price2"],
                "discountPrice": p["discountPrice"],
                "discount": p["discount"],
                "warehouse": p["warehouses"],
            }
            for p in self._by_article(query)
        }

    def answer(self, method: str, query: dict) -> bytes:
        """The JSON body of an API method (the big ones cached until the catalog changes); KeyError if
        the method is unknown, ValueError on an unknown additional field."""
        key = (method, tuple(sorted(query.items())), self.omit_pagination)
        with self.lock:
            body = self._cache.get(key)
            if body is None:
                handlers = {
                    "categories": self.category_list,
                    "brands": lambda q: self.brand_rows(),
                    "elements-pagination": self.page,
                    "elements": lambda q: self.page(q)["elements"],
                    "element-info": self.element_info,
                    "properties": self.properties,
                    "quantity-price": self.quantity_price,
                    "quantity": lambda q: {str(p["article"]): p["quantity"] for p in self._by_article(q)},
                    "warehouses": lambda q: WAREHOUSES,
                    "date": lambda q: {"date": self.updated_at.strftime("%Y-%m-%d %H:%M:%S")},
                }
                body = orjson.dumps(handlers[method](query))
                if method in CACHED_METHODS:
                    self._cache[key] = body
            if method == "elements-pagination" and self.shift_during_paging:
                self.add_products(self.shift_during_paging, front=True)
            return body

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> "AlstyleServer":
        return AlstyleServer(self, host, port)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _yii_error(status: int, name: str, message: str, **extra) -> bytes:
    return json.dumps(
        {"name": name, "message": message, "code": 0, "status": status, **extra}, ensure_ascii=False
    ).encode()


class AlstyleServer(LoopbackServer):
    def __init__(self, sandbox: AlstyleSandbox, host: str = "127.0.0.1", port: int = 0):
        super().__init__(AlstyleHandler, sandbox, host, port)

    @property
    def url(self) -> str:
        return self.base + API_PREFIX


class AlstyleHandler(SandboxHandler):
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _json(self, status: int, payload) -> None:
        self.send_body(status, json.dumps(payload, ensure_ascii=False).encode())

    def _handle(self, http_method: str) -> None:
        sandbox: AlstyleSandbox = self.state
        parts = urlsplit(self.path)
        if parts.path.startswith("/_sandbox/"):
            return self._control(http_method, parts.path[len("/_sandbox/") :])
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        token = query.pop("access-token", "")
        method = parts.path[len(API_PREFIX) :].strip("/") if parts.path.startswith(API_PREFIX) else parts.path
        wait = sandbox._admit(token, method, query)
        if token != sandbox.token:
            return self.send_body(
                401, _yii_error(401, "Unauthorized", "Your request was made with invalid credentials.")
            )
        if wait is not None:
            return self._throttled(method, wait)
        if sandbox.latency:
            time.sleep(sandbox.latency)
        fault = sandbox._take_fault(method)
        if fault and fault.kind == "drop":
            return self.drop()
        if fault and fault.kind not in ("timeout", "slow", "truncated"):
            return self._fault(fault.kind)
        if fault and fault.kind in ("timeout", "slow"):
            time.sleep(fault.delay)  # the answer comes, too late for a client with a shorter read timeout
        try:
            body = sandbox.answer(method, query)
        except KeyError:
            return self.send_body(404, _yii_error(404, "Not Found", "Страница не найдена."))
        except ValueError:
            return self.send_body(500, _yii_error(500, "Internal Server Error", "Внутренняя ошибка сервера."))
        try:
            if fault and fault.kind == "truncated":
                return self.send_truncated(Response(200, body))
            self.send_body(200, body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            self.close_connection = True

    def _throttled(self, method: str, wait: float) -> None:
        interval = round(wait, 3)
        message = f"Слишком частые запросы. Повторите через {interval} с."
        if method in THROTTLE_BODY_METHODS:
            return self._json(200, {"success": False, "message": message, "interval": interval})
        self.send_body(403, _yii_error(403, "Forbidden", message, interval=interval))

    def _fault(self, kind: str) -> None:
        if kind == "malformed":
            return self.send_body(200, b"<html><body>502 Bad Gateway</body></html>")
        if kind == "interval":
            return self._json(200, {"success": False, "message": "Слишком частые запросы.", "interval": 0.05})
        status = int(kind)
        name = {403: "Forbidden", 429: "Too Many Requests"}.get(status, "Server Error")
        extra = {"interval": 0.05} if status in (403, 429) else {}
        self.send_body(status, _yii_error(status, name, "injected fault", **extra))

    def _control(self, http_method: str, action: str) -> None:
        sandbox: AlstyleSandbox = self.state
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        except ValueError:
            return self._json(400, {"error": "body is not JSON"})
        if http_method == "POST" and action == "faults":
            sandbox.inject(
                body.get("kind", "500"),
                body.get("times", 1),
                method=body.get("method", ""),
                after=body.get("after", 0),
                delay=body.get("delay", 3.0),
            )
        elif http_method == "POST" and action == "catalog":
            for article, fields in (body.get("update") or {}).items():
                sandbox.update_product(int(article), **fields)
            if body.get("remove"):
                sandbox.remove_products(body["remove"])
            if body.get("add"):
                sandbox.add_products(int(body["add"]))
            if "shift_during_paging" in body:
                sandbox.shift_during_paging = int(body["shift_during_paging"])
            if "interval" in body:
                sandbox.interval = float(body["interval"])
        elif http_method == "POST" and action == "faults/clear":
            sandbox.clear_faults()
        elif http_method == "POST" and action == "reset":
            sandbox.reset()
        elif not (http_method == "GET" and action == "stats"):
            return self._json(404, {"error": "unknown control endpoint"})
        self._json(200, sandbox.stats())


# --- command line -------------------------------------------------------------------------------
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="kaspisync.sandbox alstyle", description="Al-Style API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--products", type=int, default=7000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--interval", type=float, default=5.0, help="minimum seconds between two requests per token")
    parser.add_argument("--token", default="sandbox-token")
    args = parser.parse_args(argv)
    sandbox = AlstyleSandbox(args.products, seed=args.seed, interval=args.interval, token=args.token)
    server = sandbox.serve(args.host, args.port)
    print(
        f"Al-Style sandbox: {server.url} ({len(sandbox.products)} products, interval {args.interval} s, "
        f"token {args.token!r})",
        flush=True,
    )
    server.run_until_interrupted()


if __name__ == "__main__":
    main()
