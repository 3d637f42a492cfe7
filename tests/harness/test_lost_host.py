"""A host lost mid-session (the ssh backend raises SshError for its commands): the runner
fails that cell with the reason, goes on with the next cells, and waits for the host to be
back before tearing down. Fake backend; the same over real sshd is in
tests/integration/test_ssh_faults.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.hosts.fake import Call, Handler, Reply
from harness.hosts.ssh import SshError
from harness.records.models import Status
from harness.records.store import RunStore
from harness.runner.run import RunOptions, run_plan
from harness.settings.models import AddressingSettings, VpnSettings
from harness.testbed.fake import FakeTestbed
from harness.vpns.internal import InternalAdapter
from tests.harness.test_run_loop_fake import healthy, make_plan

SETTINGS = {"internal": VpnSettings(name="internal", display_name="Internal",
                                    addressing=AddressingSettings(mode="underlay"))}


class LosableTestbed(FakeTestbed):
    """yuki is unreachable from its first workload ping until someone waits for it."""

    def __init__(self, hosts: Sequence[str], handler: Handler) -> None:
        super().__init__(hosts, handler)
        self.lost = False
        self.events: list[str] = []

    def wait_reachable(self, timeout_s: float) -> list[str]:
        if self.lost:
            self.events.append("waited for yuki")
            self.lost = False
        return []


def test_a_lost_host_fails_its_cell_and_the_run_goes_on(tmp_path: Path) -> None:
    built: list[LosableTestbed] = []

    def lose_yuki(call: Call) -> Reply:
        testbed = built[-1]
        testbed.lost = True
        raise SshError("host yuki (root@10.77.0.2:22): SSH failed: ssh: connect to host "
                       "10.77.0.2 port 22: Connection refused")

    rules = healthy().on("ping", host="yuki", when=lambda call: "-i" in call.argv,
                         reply=lose_yuki)

    def factory() -> LosableTestbed:
        testbed = LosableTestbed(("lom", "yuki", "luna"), rules)
        built.append(testbed)
        return testbed

    run_dir = run_plan(make_plan(["internal"], ["ping"]), SETTINGS, factory,
                       RunOptions(out_dir=tmp_path, live_progress=False, sample_cpu=False,
                                  sample_contention=False, quiet_path=False),
                       adapter_factory=InternalAdapter)
    found = {r.link: r for r in RunStore.open_existing(run_dir).load_records()}
    assert found["lom->yuki"].status is Status.OK
    assert found["luna->lom"].status is Status.OK
    lost = found["yuki->luna"]
    assert lost.status is Status.FAILED
    assert lost.error == ("SshError: host yuki (root@10.77.0.2:22): SSH failed: ssh: connect "
                          "to host 10.77.0.2 port 22: Connection refused")
    assert built[0].events == ["waited for yuki"]
    assert built[0].exited
    assert RunStore.open_existing(run_dir).manifest.complete
