"""The fault vocabulary both API sandboxes share (kaspisync.sandbox.base.FaultQueue)."""

import pytest
import requests

from kaspisync.sandbox.alstyle import AlstyleSandbox
from kaspisync.sandbox.base import FaultQueue


def test_faults_are_taken_in_order_after_letting_requests_through():
    queue = FaultQueue()
    queue.inject("500", times=2, where="a", after=1)
    queue.inject("timeout", where="")
    taken = [queue.take(lambda where, target=target: where in ("", target)) for target in "abab"]
    assert [f.kind if f else None for f in taken] == [None, "timeout", "500", None]
    assert queue.pending() == 1
    assert queue.clear() == 1
    assert queue.pending() == 0
    with pytest.raises(ValueError):
        queue.inject("gremlins")


def test_the_alstyle_sandbox_drops_and_clears_faults():
    sandbox = AlstyleSandbox(20, interval=0.0, token="t")
    with sandbox.serve() as server:
        url = server.url + "date"
        sandbox.inject("drop")
        with pytest.raises(requests.ConnectionError):
            requests.get(url, params={"access-token": "t"}, timeout=5)
        requests.post(server.base + "/_sandbox/faults", json={"kind": "503", "times": 5, "after": 1}, timeout=5)
        codes = [requests.get(url, params={"access-token": "t"}, timeout=5).status_code for _ in range(2)]
        assert codes == [200, 503]
        assert requests.post(server.base + "/_sandbox/faults/clear", timeout=5).status_code == 200
        assert requests.get(url, params={"access-token": "t"}, timeout=5).status_code == 200
        assert sandbox.faults.pending() == 0


def test_faults_at_random_fail_about_the_share_asked_for_and_stop_when_cleared():
    queue = FaultQueue()
    queue.at_random(0.3, ("500", "timeout", "truncated"), seed=3)
    taken = [queue.take(lambda where: True) for _ in range(1000)]
    failed = [f for f in taken if f is not None]
    assert 250 < len(failed) < 350
    assert {f.kind for f in failed} == {"500", "timeout", "truncated"}
    queue.clear()
    assert all(queue.take(lambda where: True) is None for _ in range(100))
