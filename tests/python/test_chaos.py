"""A short run of the fault harness (`chaos.py`) as a test: five nodes on
127.0.83.1-5 under kills, pauses and partitions for 45 s, then healed, repaired
and checked replica by replica. The long soak is `chaos.py --minutes N`."""

import json

import pytest

from chaos import Chaos, is_clean


@pytest.mark.timeout(420)
def test_nothing_acknowledged_is_lost_and_nothing_deleted_returns_under_faults():
    report = Chaos(nodes=5, base="127.0.83", seconds=45, seed=20261205, skew_ms=0,
                   client_timestamps=False, keep=False).run()
    print(json.dumps(report, indent=2))
    assert sum(report["faults"].values()) >= 4, report["faults"]
    assert report["writes_acknowledged"] > 0 and report["lwt_claims_won"] > 0, report
    assert is_clean(report), json.dumps(report, indent=2)
