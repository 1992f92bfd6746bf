"""The outbound-address tests (SSRF forms, download deadlines, callbacks) in a network namespace with no
route out: whatever the code under test tries, nothing leaves this machine."""

from __future__ import annotations

import pytest

from . import netns


@pytest.mark.skipif(netns.inside(), reason="already inside the namespace")
def test_outbound_addresses_inside_a_network_namespace_with_no_route_out():
    out = netns.run(["tests/test_outbound.py"])
    last = out.strip().splitlines()[-1]
    assert " passed" in last and "skipped" not in last, out[-4000:]
