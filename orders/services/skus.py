"""Which merchant SKU an order entry is for, with as few Kaspi calls as the answers allow.

An entry carries `offer.code` and its master product (Kaspi's product). The reference warns that
`offer.code` is sometimes Kaspi's internal code, so it is a hint only:

1. a hint that is one of our SKUs (a catalog product's SKU) is the entry's SKU: no call;
2. otherwise the master product's SKU: as known from an earlier answer (`MasterProductSku`, kept
   MASTER_SKU_TTL) or asked once per master product (`/masterproducts/{id}/merchantProduct`), and
   kept. An entry that does not name its master product first asks `/orderentries/{id}/product`;
   so does one without a name (answers older than `offer {code, name}`), for Kaspi's name and
   code of the product — a failure of that look-up only leaves the name empty.

A refusal for good (4xx) leaves the entry without a SKU and says why (`sku_error`); any other
failure (5xx, timeout, 429 after the client's retries) fails the entry, so its order is left for
the next pull. Both are remembered for the rest of the pull: a product is asked about once.
"""

from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import timedelta

from django.utils import timezone

from kaspisync.http import ExternalServiceError

from .. import selectors
from ..kaspi import KaspiClient, KaspiEntry, refused_for_good
from ..models import MasterProductSku

# A master product's SKU changes only if the merchant changes its SKUs (e.g. FEED_SKU_PREFIX):
# a known answer is asked again after this long.
MASTER_SKU_TTL = timedelta(days=30)


def call_or_error(func, arg):
    """`func(arg)`, or the ExternalServiceError it raised (for Executor.map)."""
    try:
        return func(arg)
    except ExternalServiceError as exc:
        return exc


@dataclass
class SkuResolver:
    client: KaspiClient
    pool: Executor
    known: dict[str, str | ExternalServiceError] = field(default_factory=dict)  # master id -> SKU or failure
    lookups: int = 0  # master products asked about (merchantProduct calls, retries not counted)
    product_lookups: int = 0  # entries asked for their master product

    def resolve(self, entries: list[KaspiEntry]) -> tuple[list[KaspiEntry], dict[str, ExternalServiceError]]:
        """The entries with `sku` / `sku_error` set, and {entry id: failure} for entries whose SKU
        could not be had now (their orders wait for the next pull)."""
        ours = set(selectors.product_ids_for_skus({e.offer_code for e in entries if e.offer_code}))
        failed: dict[str, ExternalServiceError] = {}
        need = [e for e in entries if e.offer_code not in ours]
        named = {e.id: e for e in self._with_master(need, failed)}
        self._learn({e.master_product_id for e in named.values() if e.master_product_id})
        resolved = []
        for entry in entries:
            if entry.offer_code in ours:
                resolved.append(replace(entry, sku=entry.offer_code))
                continue
            if entry.id in failed:
                continue
            entry = named[entry.id]
            known = self.known.get(entry.master_product_id, "")
            if isinstance(known, ExternalServiceError):
                if not refused_for_good(known):
                    failed[entry.id] = known
                    continue
                resolved.append(replace(entry, sku_error=known.args[0]))
            elif entry.sku_error:
                resolved.append(entry)
            else:
                resolved.append(replace(entry, sku=known))
        return resolved, failed

    def _with_master(self, entries: list[KaspiEntry], failed: dict) -> list[KaspiEntry]:
        """Entries that do not name their master product, or have no name, ask for it (concurrently)."""
        asking = [e for e in entries if not e.master_product_id or not e.name]
        self.product_lookups += len(asking)
        answers = dict(
            zip(
                [e.id for e in asking],
                self.pool.map(call_or_error, [self.client.entry_master] * len(asking), [e.id for e in asking]),
            )
        )
        result = []
        for entry in entries:
            answer = answers.get(entry.id)
            if answer is None or (
                entry.master_product_id and (isinstance(answer, ExternalServiceError) or not answer.id)
            ):
                result.append(entry)  # not asked, or only for its name (its master product is named)
            elif isinstance(answer, ExternalServiceError):
                if refused_for_good(answer):
                    result.append(replace(entry, sku_error=answer.args[0]))
                else:
                    failed[entry.id] = answer
            else:
                result.append(
                    replace(
                        entry,
                        master_product_id=entry.master_product_id or answer.id,
                        master_product_code=answer.code or entry.master_product_code,
                        name=entry.name or answer.name,
                    )
                )
        return result

    def _learn(self, master_ids: set[str]) -> None:
        """SKUs of these master products: kept ones first, then one call per product still unknown."""
        unknown = master_ids - self.known.keys()
        if not unknown:
            return
        self.known.update(selectors.known_master_skus(unknown, since=timezone.now() - MASTER_SKU_TTL))
        asking = sorted(unknown - self.known.keys())
        self.lookups += len(asking)
        learnt = {}
        for master_id, answer in zip(
            asking, self.pool.map(call_or_error, [self.client.merchant_sku] * len(asking), asking)
        ):
            self.known[master_id] = answer
            if not isinstance(answer, ExternalServiceError):
                learnt[master_id] = answer
        if learnt:
            now = timezone.now()
            MasterProductSku.objects.bulk_create(
                [MasterProductSku(master_product_id=m, sku=sku, looked_up_at=now) for m, sku in learnt.items()],
                update_conflicts=True,
                unique_fields=["master_product_id"],
                update_fields=["sku", "looked_up_at"],
            )
