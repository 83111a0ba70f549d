"""A fast bulk upsert: `INSERT ... ON CONFLICT (unique) DO UPDATE` sent with `executemany`.

It does what `bulk_create(update_conflicts=True, unique_fields=..., update_fields=...)` does, on
SQLite (>= 3.24) and PostgreSQL alike, without building the SQL value by value: on the
benchmark machine bulk_create spends ~200 µs a row assembling its statement, this ~10 µs.
Values are adapted by the model's own fields (JSON, decimals, datetimes); columns the rows do not
give get the field's default (or "now" for auto_now/auto_now_add), so fields added to the model
later (with a default) need no change here.
"""

from collections.abc import Iterable
from itertools import chain

from django.db import connections, models, router
from django.utils import timezone

_PLAIN = (models.IntegerField, models.CharField, models.TextField, models.BooleanField, models.ForeignKey)


def bulk_upsert(model, rows: Iterable[dict], *, unique_field: str, update_fields) -> None:
    """Insert `rows` ({field name or attname: python value}, all with the same keys), updating
    `update_fields` of the rows whose `unique_field` already exists. `rows` may be a generator:
    each row is made, adapted and sent in turn, so a batch is never held twice (as dicts and as
    the driver's parameters)."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    keys = list(first)
    given = [meta.get_field(name) for name in keys]
    now = timezone.now()
    missing = [f for f in meta.concrete_fields if not f.primary_key and f not in given]
    constants = [
        f.get_db_prep_save(
            now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default(), connection
        )
        for f in missing
    ]
    adapted = [(index, field) for index, field in enumerate(given) if not isinstance(field, _PLAIN)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in given + missing)
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in (meta.get_field(n).column for n in update_fields))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * (len(given) + len(missing)))}) "
        f"ON CONFLICT ({quote(meta.get_field(unique_field).column)}) DO UPDATE SET {updates}"
    )

    def params():
        # index -> (value, adapted value): the same object (a run's timestamp) is adapted once
        last = {index: (object(), None) for index, _field in adapted}
        for row in chain((first,), rows):
            values = [row[k] for k in keys]
            for index, field in adapted:
                value = values[index]
                if value is not last[index][0]:
                    last[index] = (value, field.get_db_prep_save(value, connection))
                values[index] = last[index][1]
            yield values + constants

    with connection.cursor() as cursor:
        cursor.executemany(sql, params())
