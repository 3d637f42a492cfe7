"""Run-metadata tables for the report from facts gathered while reading legacy files."""

from __future__ import annotations

from dataclasses import dataclass, field

from analysis.dataset import MetadataTable
from analysis.importers.json_paths import JsonObject, get_number, get_object, get_path, get_text
from analysis.ordering import profile_order


@dataclass
class LegacyFacts:
    """What the importer noticed on the way: software per host, MTU per VPN, impairment."""

    root: str
    ring: tuple[str, ...]
    vpns: tuple[str, ...]
    software: dict[tuple[str, str], str] = field(default_factory=dict)
    path_mtu: dict[str, tuple[str, str]] = field(default_factory=dict)
    impairment: dict[str, JsonObject | None] = field(default_factory=dict)

    def note_iperf(self, host: str, iperf: JsonObject) -> None:
        system = get_text(iperf, "start", "system_info")
        if system:
            self.software.setdefault((host, "system"), system)
        version = get_text(iperf, "start", "version")
        if version:
            self.software.setdefault((host, "iperf3"), version)

    def software_of(self, host: str) -> tuple[str, str]:
        """(kernel release, iperf3 version) as iperf3 reported them on ``host``."""
        system = self.software.get((host, "system"), "").split()
        kernel = system[2] if len(system) > 2 else " ".join(system)
        return kernel, self.software.get((host, "iperf3"), "")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def hosts_table(facts: LegacyFacts, hardware: object) -> MetadataTable | None:
    """Hardware from ``General/hardware.json`` joined with kernel/iperf3 per host."""
    machines = get_path(hardware, "data", "machines")
    rows = []
    for machine in machines if isinstance(machines, list) else []:
        name = get_text(machine, "machine_name") or "?"
        cpu = get_object(machine, "cpu") or {}
        memory = get_number(machine, "memory", "total_gb")
        nics = get_path(machine, "network_controllers")
        drivers = ", ".join(str(get_text(n, "driver")) for n in nics) if isinstance(
            nics, list) else "?"
        rows.append((name, f"{cpu.get('vendor_name', '?')} model {cpu.get('model', '?')}",
                     f"{cpu.get('cores', '?')}/{cpu.get('siblings', '?')}",
                     f"{memory:.0f} GB" if memory else "?", drivers, *facts.software_of(name)))
    described = {row[0] for row in rows}
    for host in facts.ring:
        if host not in described and (host, "system") in facts.software:
            rows.append((host, "?", "?", "?", "?", *facts.software_of(host)))
    columns = ("host", "CPU", "cores/threads", "memory", "NIC driver", "kernel", "iperf3")
    if hardware is None:
        return MetadataTable(
            "Hosts", columns, tuple(rows),
            "The input has no General/hardware.json: CPU, cores, memory and NIC of the "
            "hosts are unknown" + (" (kernel and iperf3 below come from the test files)."
                                   if rows else "."),
        )
    if not rows:
        return None
    position = {host: index for index, host in enumerate(facts.ring)}
    rows.sort(key=lambda row: position.get(row[0], len(position)))
    return MetadataTable("Hosts", columns, tuple(rows))


def impairment_table(facts: LegacyFacts) -> MetadataTable:
    rows: list[tuple[str, ...]] = []
    for profile in profile_order(facts.impairment):
        settings = facts.impairment[profile]
        if settings is None:
            rows.append((profile, "none", "", "", "", ""))
            continue
        rows.append((profile, *(_fmt(get_number(settings, key)) for key in (
            "latency_ms", "jitter_ms", "packet_loss_percent", "reorder_percent",
            "bandwidth_mbit"))))
    return MetadataTable(
        "Impairment (tc netem)",
        ("profile", "delay ms", "jitter ms", "loss %", "reorder %", "rate Mbit/s"),
        tuple(rows),
        "Legacy tc_settings.json stores doubled, 'end-to-end' values: each host applied "
        "half the delay, jitter, loss and reorder shown here on its egress.",
    )


def metadata_tables(facts: LegacyFacts, hardware: object) -> list[MetadataTable]:
    tables = [
        MetadataTable(
            "Source", ("field", "value"),
            (("format", "legacy result layout (earlier implementation)"),
             ("directory", facts.root),
             ("hosts (ring order)", " → ".join(facts.ring)),
             ("VPNs", ", ".join(facts.vpns))),
        )
    ]
    hosts = hosts_table(facts, hardware)
    if hosts is not None:
        tables.append(hosts)
    tables.append(impairment_table(facts))
    if facts.path_mtu:
        tables.append(MetadataTable(
            "Tunnel MTU and MSS", ("vpn", "path MTU (bytes)", "TCP MSS (bytes)"),
            tuple((vpn, *values) for vpn, values in sorted(facts.path_mtu.items())),
            "As reported by iperf3 on the first TCP link measured for each VPN.",
        ))
    tables.append(MetadataTable(
        "Not recorded by the legacy harness", ("item", "status"),
        (("NIC offloads", "not recorded"),
         ("sysctls", "not recorded (kernel defaults unless --optimized)"),
         ("VPN versions", "not recorded")),
    ))
    return tables
