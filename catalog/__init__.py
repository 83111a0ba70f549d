"""catalog: the Al-Style catalog (categories, brands, products, stock, history) imported from the
supplier's API, and sale prices set by rules and overrides. Imports no other app: those that follow it
listen to `catalog.signals`."""
