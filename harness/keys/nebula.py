"""Nebula: one CA per site and a certificate per host carrying its static overlay address.

The CA key is thrown away after signing: adding a host means regenerating the site, which
keeps every certificate of a site from the same run (``--force`` replaces them together).
"""

from __future__ import annotations

from harness.keys.files import KeyFile, KeyRequest, PrivateFile, PublicFile, file_text
from harness.keys.tools import NEBULA_CERT, run_text
from harness.settings.addressing import prefix_length, static_overlay_address
from harness.settings.loader import ConfigError

VPN = "nebula"
TOOLS = (NEBULA_CERT,)
CA_NAME = "vpn-bench"
CA_LIFETIME = "87600h"  # ten years: a benchmark site must not expire between campaigns


def host_networks(request: KeyRequest) -> dict[str, str]:
    """Host -> ``address/prefix`` for ``nebula-cert sign -ip`` (vpn-configs' static plan)."""
    hosts = list(request.hosts)
    try:
        prefix = prefix_length(request.settings)
        return {host: f"{static_overlay_address(request.settings, hosts, host)}/{prefix}"
                for host in hosts}
    except ValueError as error:
        raise ConfigError(f"vpn-configs/vpns/{VPN}.toml: {error}") from None


def generate(request: KeyRequest) -> list[KeyFile]:
    networks = host_networks(request)
    ca_dir = request.workdir
    ca_crt, ca_key = ca_dir / "ca.crt", ca_dir / "ca.key"
    run_text(["nebula-cert", "ca", "-name", CA_NAME, "-duration", CA_LIFETIME,
              "-out-crt", str(ca_crt), "-out-key", str(ca_key)])
    files: list[KeyFile] = [PublicFile(VPN, "ca.crt", file_text(ca_crt.read_text()))]
    for host, network in networks.items():
        crt, key = ca_dir / f"{host}.crt", ca_dir / f"{host}.key"
        run_text(["nebula-cert", "sign", "-ca-crt", str(ca_crt), "-ca-key", str(ca_key),
                  "-name", host, "-ip", network, "-out-crt", str(crt), "-out-key", str(key)])
        files.append(PublicFile(VPN, f"{host}.crt", file_text(crt.read_text())))
        files.append(PrivateFile(host, VPN, "host.key", file_text(key.read_text())))
    return files
