"""The stock reservation rule (catalog.reservations): where demands take their units from and what
each Kaspi store may still offer. Pure: no database."""

from catalog.reservations import NOT_STATED, Demand, Reservation, allocate, offered, reserve, store_for_point

STORES = {"PP1": ("panfilov",), "PP2": ("karaganda",)}


def test_allocation_takes_the_largest_stock_first_prefers_given_warehouses_and_reports_what_is_missing():
    stock = {"a": 2, "b": 5, "c": 0}
    assert allocate(6, stock, 7) == ({"b": 5, "a": 1}, 0)
    assert allocate(3, stock, 7, prefer=("a",)) == ({"a": 2, "b": 1}, 0)
    assert allocate(10, stock, 9) == ({"b": 5, "a": 2, NOT_STATED: 2}, 1)
    assert allocate(4, {}, 0) == ({}, 4)
    assert stock == {"a": 2, "b": 5, "c": 0}


def test_a_point_of_service_names_a_store_by_its_id_or_kaspis_merchant_prefixed_form():
    assert store_for_point("30001234_PP2", STORES) == "PP2"
    assert store_for_point("PP1", STORES) == "PP1"
    assert store_for_point("30001234_PP9", STORES) is None
    assert store_for_point("", STORES) is None


def test_demands_take_from_the_store_the_order_leaves_from_else_from_the_largest_stock():
    stock = {"panfilov": 5, "karaganda": 2}
    held = reserve(7, stock, [Demand(2, "30001234_PP2"), Demand(3, "")], STORES)
    assert (held.total, held.by_warehouse, held.short) == (5, {"karaganda": 2, "panfilov": 3}, 0)
    assert offered(7, stock, held, STORES, 1) == {"PP1": 2, "PP2": 0}
    assert offered(7, stock, held, STORES, 3) == {"PP1": 0, "PP2": 0}  # below the publish minimum
    assert offered(7, stock, None, STORES, 1) == {"PP1": 5, "PP2": 2}  # nothing held


def test_a_store_whose_warehouses_ran_out_takes_from_the_others_and_shortage_is_counted():
    held = reserve(3, {"panfilov": 0, "karaganda": 3}, [Demand(2, "PP1"), Demand(4, "PP2")], STORES)
    assert held.by_warehouse == {"karaganda": 3}
    assert held.total == 6
    assert held.short == 3


def test_a_store_without_warehouses_sells_the_total_less_everything_held():
    stores = {"PP1": ()}
    held = reserve(50, {}, [Demand(45, "PP1")], stores)
    assert held.by_warehouse == {NOT_STATED: 45}
    assert offered(50, {}, held, stores, 1) == {"PP1": 5}
    assert offered(50, {}, Reservation(total=60), stores, 1) == {"PP1": 0}
