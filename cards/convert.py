"""Al-Style property values -> Kaspi attribute values, by the attribute's declared type.

Every rule, stated once:
- `number`: the number a value starts with, `,` or `.` as the decimal mark, spaces as thousands
  separators, a unit after it ignored: `15,6"` -> 15.6, `2 м` -> 2, `1 500 Вт` -> 1500. A value
  that does not start with a number, or continues with another one (`1920x1080`, `10-20`), is
  refused rather than guessed. Integral numbers are sent as JSON integers.
- `boolean`: Да/Нет, yes/no, true/false, 1/0, есть/нет (any case) -> JSON true/false.
- `enum`: the allowed value whose name or code matches, ignoring case, `ё`/`е` and repeated
  spaces; the card carries the allowed value's code. No match: refused, naming the allowed ones.
- `string`: the text, control characters removed and whitespace collapsed, 1–256 characters.
- multi-valued `enum`/`string`: a list (or a text split at `,` and `;`) -> a list of 1–32
  unique strings; multi-valued numbers and booleans are sent as one value.
A failure raises `ConversionError(kind, value, allowed)`; the caller turns it into a reason.
"""

import re
from decimal import Decimal, InvalidOperation

from catalog.text import clean_text

MAX_TEXT = 256
MAX_VALUES = 32
TRUE_WORDS = frozenset({"да", "yes", "true", "1", "есть"})
FALSE_WORDS = frozenset({"нет", "no", "false", "0"})
_NUMBER = re.compile(r"\s*([-+]?(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:[.,]\d+)?)")
_CONTINUES_WITH_NUMBER = re.compile(r"\s*(?:[xх×*/:\-–—]\s*)?\d", re.IGNORECASE)
_SPLIT = re.compile(r"[;,]")
_SPACES = str.maketrans("", "", " \u00a0\u202f")


class ConversionError(ValueError):
    def __init__(self, kind: str, value, allowed: tuple[str, ...] = ()):
        super().__init__(kind)
        self.kind = kind  # "number", "boolean", "enum", "text_too_long", "too_many_values", "empty"
        self.value = value
        self.allowed = allowed


def enum_key(text) -> str:
    return " ".join(str(text).casefold().replace("ё", "е").split())


def to_number(value) -> int | float:
    if isinstance(value, bool):
        raise ConversionError("number", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    text = str(value)
    match = _NUMBER.match(text)
    if not match or _CONTINUES_WITH_NUMBER.match(text, match.end()):
        raise ConversionError("number", value)
    try:
        number = Decimal(match.group(1).translate(_SPACES).replace(",", "."))
    except InvalidOperation:
        raise ConversionError("number", value) from None
    return int(number) if number == number.to_integral_value() else float(number)


def to_boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConversionError("boolean", value)


def to_text(value) -> str:
    text = clean_text(str(value))
    if not text:
        raise ConversionError("empty", value)
    if len(text) > MAX_TEXT:
        raise ConversionError("text_too_long", value)
    return text


def to_enum(value, allowed: dict[str, str], names: tuple[str, ...]) -> str:
    """`allowed`: {enum_key(name or code): code}; `names`: the allowed values as staff read them."""
    code = allowed.get(enum_key(value))
    if code is None:
        raise ConversionError("enum", value, names)
    return code


def _items(value) -> list:
    if isinstance(value, (list, tuple)):
        return [v for v in value if str(v).strip()]
    return [part for part in _SPLIT.split(str(value)) if part.strip()]


def convert(kind: str, multi_valued: bool, value, allowed: dict[str, str] | None = None, names: tuple[str, ...] = ()):
    """One attribute value in Kaspi's JSON type; ConversionError when it cannot be."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ConversionError("empty", value)
    if kind == "number":
        return to_number(value[0] if isinstance(value, list) and value else value)
    if kind == "boolean":
        return to_boolean(value[0] if isinstance(value, list) and value else value)
    one = (lambda v: to_enum(v, allowed or {}, names)) if kind == "enum" else to_text
    if not multi_valued:
        return one(value[0] if isinstance(value, list) and value else value)
    values = list(dict.fromkeys(one(item) for item in _items(value)))
    if not values:
        raise ConversionError("empty", value)
    if len(values) > MAX_VALUES:
        raise ConversionError("too_many_values", value)
    return values
