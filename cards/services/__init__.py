"""Every write and external call of the cards app: classification, mapping, readiness, uploads."""
