"""orders: Kaspi orders pulled from the Shop API, staff actions on them (accept, cancel, complete,
assemble, auto-accept), their money, the purchase list and Kaspi's quality figures. Reads catalog."""
