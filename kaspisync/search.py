"""Case-insensitive text lookups that fold every alphabet, on SQLite too.

SQLite's LIKE (Django's `icontains`, `istartswith`, `iexact` there) folds only ASCII letters, so
"ноутбук" never finds "Ноутбук" and "қазақ" never finds "Қазақ". On SQLite these lookups are
replaced, for a needle with non-ASCII letters, by small SQL functions registered on each new
connection that compare `str.casefold()` of both sides (Cyrillic and Kazakh letters included);
an ASCII needle keeps SQLite's own LIKE, which is exact for it and fast. PostgreSQL keeps
Django's `UPPER(...) LIKE UPPER(...)`, which folds every letter in a UTF-8 database.

Registered once for every field (`install()`, from the kaspisync app config), so admin searches,
filters and selectors get it without naming it.
"""

import re

from django.core.exceptions import EmptyResultSet
from django.db.backends.signals import connection_created
from django.db.models import Field, lookups


def _folded(value) -> str | None:
    return None if value is None else str(value).casefold()


def _contains(haystack, needle) -> bool:
    try:  # text columns: the common case, kept short (called once per row)
        return needle in haystack.casefold()
    except AttributeError:  # NULL or a number
        return haystack is not None and needle in _folded(haystack)


def _startswith(haystack, needle) -> bool:
    return haystack is not None and _folded(haystack).startswith(needle)


def _exact(haystack, needle) -> bool:
    return haystack is not None and _folded(haystack) == needle


SQL_FUNCTIONS = {"KS_ICONTAINS": _contains, "KS_ISTARTSWITH": _startswith, "KS_IEXACT": _exact}


def register_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        for name, func in SQL_FUNCTIONS.items():
            connection.connection.create_function(name, 2, func, deterministic=True)


def _cyrillic_hints(needle: str, most: int = 3) -> list[tuple[str, str]]:
    """Up to `most` Cyrillic letters of the folded needle, as (lower, upper) pairs: a row can
    contain the needle only if it holds each of them in one case or the other, which SQLite's own
    `instr()` checks fast, before the Python comparison. (Cyrillic, Russian and Kazakh letters
    alike, has one upper and one lower form per letter, so the check never drops a match.)"""
    hints = []
    for char in dict.fromkeys(needle):
        if "\u0400" <= char <= "\u04ff" and len(char.upper()) == 1 and char.upper() != char:
            hints.append((char, char.upper()))
    frequent = "оеаинтсрвлкмдпуяызбгчйхжшюцщэфъё"  # Russian letters, most frequent first
    hints.sort(key=lambda pair: -frequent.find(pair[0]) if pair[0] in frequent else -len(frequent))  # rarest first
    return hints[:most]


INTEGER_TYPES = frozenset(
    {
        *("AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField"),
        *("PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField"),
    }
)
# Columns whose text (as SQLite compares it) is ASCII only: a needle with other letters never matches
# them, so the admin's "=article" search for a word costs nothing.
ASCII_TYPES = INTEGER_TYPES | {
    *("BooleanField", "DecimalField", "FloatField", "UUIDField"),
    *("DateField", "DateTimeField", "TimeField", "DurationField"),
}


class _FoldingLookup:
    """On SQLite, a needle with non-ASCII letters is compared by `sql_function` on casefolded text,
    after cheaper checks in SQLite's own C code that settle most rows without calling Python:
    - a row must hold each of the needle's rarest Cyrillic letters in one case or the other
      (`instr()`); a needle without Cyrillic letters instead needs a row with non-ASCII text at
      all (the `length()` of the text and of its bytes differ);
    - a row holding the needle as typed, in lower case, in upper case or capitalised ("Ноутбук")
      matches at once (`fast_accept`);
    only the rest (mixed case such as "НоутБук") reaches the Python comparison."""

    sql_function = ""

    def fast_accept(self, lhs_sql: str, lhs_params, variant: str) -> tuple[str, list]:
        raise NotImplementedError

    def as_sqlite(self, compiler, connection):
        if not isinstance(self.rhs, str) or self.rhs.casefold().isascii():
            return super().as_sql(compiler, connection)
        if self.lhs.output_field.get_internal_type() in ASCII_TYPES:
            return "0", ()  # a number's or a date's text holds no other letters: nothing to compare
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        needle = self.rhs.casefold()
        hints = _cyrillic_hints(needle)
        conditions, params = [], []
        if not hints:
            conditions.append(f"length({lhs_sql}) <> length(CAST({lhs_sql} AS BLOB))")
            params += [*lhs_params, *lhs_params]
        for lower, upper in hints:
            conditions.append(f"(instr({lhs_sql}, %s) > 0 OR instr({lhs_sql}, %s) > 0)")
            params += [*lhs_params, lower, *lhs_params, upper]
        matches, match_params = [], []
        for variant in _case_variants(self.rhs, needle):
            sql, variant_params = self.fast_accept(lhs_sql, lhs_params, variant)
            matches.append(sql)
            match_params += variant_params
        matches.append(f"{self.sql_function}({lhs_sql}, %s)")
        match_params += [*lhs_params, needle]
        conditions.append("(" + " OR ".join(matches) + ")")
        params += match_params
        return "(" + " AND ".join(conditions) + ")", tuple(params)


def _case_variants(typed: str, needle: str) -> list[str]:
    """The forms a needle is most often stored in: as typed, lower, upper, capitalised; only
    those whose casefold is the needle (so an exact match of one is a match)."""
    candidates = (typed, needle, needle.upper(), needle[:1].upper() + needle[1:])
    return [v for v in dict.fromkeys(candidates) if v.casefold() == needle]


class IContains(_FoldingLookup, lookups.IContains):
    sql_function = "KS_ICONTAINS"

    def fast_accept(self, lhs_sql, lhs_params, variant):
        return f"instr({lhs_sql}, %s) > 0", [*lhs_params, variant]


class IStartsWith(_FoldingLookup, lookups.IStartsWith):
    sql_function = "KS_ISTARTSWITH"

    def fast_accept(self, lhs_sql, lhs_params, variant):
        return f"instr({lhs_sql}, %s) = 1", [*lhs_params, variant]


PLAIN_INTEGER = re.compile(r"0|-?[1-9][0-9]{0,18}")  # an integer as the database writes it as text


class IExact(_FoldingLookup, lookups.IExact):
    """Also: an integer column compared with text (the admin's "=article" search) is compared as a
    number, through the column's index (`article = 100123`), not as text row by row (`article LIKE
    '100123'` on SQLite, `UPPER(article::text) = ...` on PostgreSQL). A number's text equals the
    needle only when the needle is that number written plainly; any other needle ("PN-0123",
    "0100123") matches no row, and is left out of the query."""

    sql_function = "KS_IEXACT"

    def fast_accept(self, lhs_sql, lhs_params, variant):
        return f"{lhs_sql} = %s", [*lhs_params, variant]

    def as_number(self, compiler, connection) -> tuple[str, tuple] | None:
        if not isinstance(self.rhs, str) or self.lhs.output_field.get_internal_type() not in INTEGER_TYPES:
            return None
        if not PLAIN_INTEGER.fullmatch(self.rhs) or not -(2**63) <= int(self.rhs) < 2**63:
            raise EmptyResultSet  # within an OR, this term is dropped; alone, the query reads nothing
        exact = self.lhs.output_field.get_lookup("exact")  # the column's own (a number out of its range: no row)
        return compiler.compile(exact(self.lhs, int(self.rhs)))

    def as_sql(self, compiler, connection):
        return self.as_number(compiler, connection) or super().as_sql(compiler, connection)

    def as_sqlite(self, compiler, connection):
        return self.as_number(compiler, connection) or super().as_sqlite(compiler, connection)


def install() -> None:
    for lookup in (IContains, IStartsWith, IExact):
        Field.register_lookup(lookup)
    connection_created.connect(register_functions, dispatch_uid="kaspisync.search.register_functions")


# --- over-long searches -------------------------------------------------------------------------
MAX_SEARCH_LENGTH = 200  # characters; the admin's search boxes say so too (templates/admin/search_form.html)


class LongSearchMiddleware:
    """An admin list asked to search for more than MAX_SEARCH_LENGTH characters is sent back to
    the same list searching the first MAX_SEARCH_LENGTH, with a message in words (instead of a
    slow search or a server's raw "Request Line is too large")."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.GET.get("q", "")
        if request.method == "GET" and len(query) > MAX_SEARCH_LENGTH and request.path.startswith("/admin/"):
            from django.contrib import messages
            from django.http import HttpResponseRedirect
            from django.utils.translation import gettext as _

            params = request.GET.copy()
            params["q"] = query[:MAX_SEARCH_LENGTH]
            messages.warning(
                request,
                _("The search was %(length)s characters long; the first %(max)s are searched.")
                % {"length": len(query), "max": MAX_SEARCH_LENGTH},
            )
            return HttpResponseRedirect(f"{request.path}?{params.urlencode()}")
        return self.get_response(request)
