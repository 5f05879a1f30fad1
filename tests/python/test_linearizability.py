"""The register checker itself (tests/python/linearizability.py), on small
histories whose answer is known, so that a pass of the cluster tests means
something."""

from linearizability import is_linearizable


def read(call, ret, value):
    return {"kind": "read", "call": call, "ret": ret, "value": value}


def cas(call, ret, old, new, applied, current=None):
    op = {"kind": "cas", "call": call, "ret": ret, "old": old, "new": new, "applied": applied}
    if current is not None:
        op["current"] = current
    return op


def test_sequential_history_is_linearizable():
    assert is_linearizable([cas(0, 1, 0, 1, True), read(2, 3, 1), cas(4, 5, 0, 2, False, current=1)], 0)


def test_a_stale_read_after_a_completed_cas_is_not():
    assert not is_linearizable([cas(0, 1, 0, 1, True), read(2, 3, 0)], 0)


def test_two_overlapping_cas_from_the_same_value_cannot_both_apply():
    assert not is_linearizable([cas(0, 2, 0, 1, True), cas(1, 3, 0, 2, True)], 0)


def test_overlapping_operations_may_take_either_order():
    assert is_linearizable([cas(0, 3, 0, 1, True), read(1, 2, 1), read(1.5, 2.5, 1)], 0)
    assert not is_linearizable([cas(0, 3, 0, 1, True), read(1, 2, 1), read(2.1, 2.5, 0)], 0)


def test_an_unknown_cas_may_apply_late_or_never():
    unknown = cas(0, None, 0, 7, None)
    assert is_linearizable([unknown, read(5, 6, 0), read(7, 8, 7)], 0)
    assert is_linearizable([unknown, read(5, 6, 0)], 0)
    assert not is_linearizable([unknown, read(5, 6, 7), read(7, 8, 0)], 0)
