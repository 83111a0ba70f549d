"""Catalog writes: the Al-Style import (importing), sale prices (pricing), the fast upsert they use, and
what runs after an import has committed (hooks)."""
