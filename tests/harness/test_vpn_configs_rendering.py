"""Config renderers of the extra VPN adapters: what they write parses, and holds the peers,
addresses and offline settings the adapters rely on. Where the real tool is installed it
checks the rendered file itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import pytest

from harness.vpns import (
    base58,
    easytier,
    headscale,
    hyprspace,
    mycelium,
    toml_writer,
    vpncloud,
    zerotier,
)
from harness.vpns.base import VpnError
from harness.vpns.easytier_launcher import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]

# -- TOML writer ---------------------------------------------------------------------------


def test_toml_writer_round_trips_tables_arrays_and_awkward_strings() -> None:
    document: dict[str, object] = {
        "name": 'quote " backslash \\ tab \t é',
        "count": 3,
        "on": True,
        "empty": [],
        "list": ["a", "b"],
        "table": {"x": 1, "nested": {"y": False}},
        "peer": [{"uri": "tcp://10.0.0.1:1"}, {"uri": "tcp://10.0.0.2:1"}],
    }
    assert tomllib.loads(toml_writer.dumps(document)) == document


def test_toml_writer_rejects_values_toml_cannot_hold_here() -> None:
    with pytest.raises(TypeError, match="float"):
        toml_writer.dumps({"ratio": 0.5})


# -- EasyTier --------------------------------------------------------------------------------


def _easytier(peers: list[str]) -> dict[str, object]:
    return tomllib.loads(easytier.render_config(
        instance="vpb", host="yuki", cidr="10.48.0.2/24", listen_address="10.77.0.2", port=11010,
        network_name="vpn-bench", network_secret="ab" * 32, peers=peers,
        interface="easytier0", mtu=None))


def test_easytier_config_peers_with_the_coordinator_and_keeps_stun_off() -> None:
    config = _easytier(["10.77.0.1"])
    assert config["instance_name"] == "vpb"
    assert config["ipv4"] == "10.48.0.2/24"
    assert config["dhcp"] is False
    assert config["listeners"] == ["tcp://10.77.0.2:11010", "udp://10.77.0.2:11010"]
    assert config["peer"] == [{"uri": "tcp://10.77.0.1:11010"}]
    assert config["network_identity"] == {"network_name": "vpn-bench",
                                          "network_secret": "ab" * 32}
    assert config["stun_servers"] == config["tcp_stun_servers"] == []
    assert config["stun_servers_v6"] == []
    assert config["flags"] == {"dev_name": "easytier0", "disable_upnp": True}


def test_easytier_coordinator_dials_nobody_and_mtu_is_passed_when_set() -> None:
    config = tomllib.loads(easytier.render_config(
        instance="vpb", host="lom", cidr="10.48.0.1/24", listen_address="10.77.0.1", port=11010,
        network_name="n", network_secret="s", peers=[], interface="et0", mtu=1300))
    assert "peer" not in config
    assert config["flags"] == {"dev_name": "et0", "disable_upnp": True, "mtu": 1300}


def test_easytier_secret_is_fresh_64_hex_per_run() -> None:
    first, second = easytier.new_network_secret(), easytier.new_network_secret()
    assert first != second
    assert len(first) == 64 and int(first, 16) >= 0 and first == first.lower()


def test_easytier_daemon_argv_keeps_the_secret_off_the_command_line() -> None:
    for runner in easytier.RUNNERS:
        argv = easytier.daemon_argv(runner, "/state/easytier.toml")
        assert argv[-1] == "/state/easytier.toml" and not any("secret" in a for a in argv)
    # The launcher is a console script found on the host's PATH, not this Python.
    assert easytier.daemon_argv("vpb-easytier", "c") == ["vpb-easytier", "--config", "c"]


def test_launcher_config_defaults_stun_off_but_keeps_explicit_values(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text('ipv4 = "10.48.0.1/24"\nstun_servers = ["stun.local:3478"]\n')
    config = load_config(path)
    assert config["stun_servers"] == ["stun.local:3478"]
    assert config["tcp_stun_servers"] == [] and config["stun_servers_v6"] == []


@pytest.mark.parametrize(("content", "message"), [
    ('ipv4 = "notanip"\n', "not an address/prefix"),
    ("ipv4 = [\n", "not valid TOML"),
])
def test_launcher_rejects_bad_configs(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "node.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_launcher_process_exits_2_naming_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text('ipv4 = "10.48.0.300/24"\n')
    result = subprocess.run(
        [sys.executable, "-m", "harness.vpns.easytier_launcher", "--config", str(path)],
        capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2
    assert "10.48.0.300/24" in result.stderr or "easytier_pyo3" in result.stderr
    assert result.stdout == ""


# -- VpnCloud -------------------------------------------------------------------------------

#: `vpncloud genkey` output as printed by VpnCloud 2.3.0 here (a throwaway key pair).
GENKEY_OUTPUT = (
    "Private key: 9rIZWI98tVxTmIZ9AcVAjxpCXfY9Nqnlw6aLdM15bwE\n"
    "Public key: hR7t5tnGnOTomOPaY6JZj0BYKXJqlFQTdSaknGOdBGU\n\n"
    "Attention: Keep the private key secret and use only the public key on other nodes to "
    "establish trust.\n")


def test_vpncloud_genkey_output_parses() -> None:
    assert vpncloud.parse_genkey(GENKEY_OUTPUT) == (
        "9rIZWI98tVxTmIZ9AcVAjxpCXfY9Nqnlw6aLdM15bwE",
        "hR7t5tnGnOTomOPaY6JZj0BYKXJqlFQTdSaknGOdBGU")
    if shutil.which("vpncloud"):
        live = subprocess.run(["vpncloud", "genkey"], capture_output=True, text=True,
                              timeout=30, check=True).stdout
        private, public = vpncloud.parse_genkey(live)
        assert len(private) == len(public) == 43


def test_vpncloud_config_is_a_static_mesh_with_explicit_claim() -> None:
    config = json.loads(vpncloud.render_config(
        interface="vpncloud0", cidr="10.47.0.1/24", address="10.47.0.1", mtu=1427,
        listen="10.77.0.1:3210", peers=["10.77.0.2:3210", "10.77.0.3:3210"],
        private_key="PRIV", trusted_keys=["A", "B", "C"]))
    assert config["device"] == {"type": "tun", "name": "vpncloud0"}
    assert config["peers"] == ["10.77.0.2:3210", "10.77.0.3:3210"]
    assert config["crypto"] == {"private-key": "PRIV", "trusted-keys": ["A", "B", "C"]}
    assert config["auto-claim"] is False and config["claims"] == ["10.47.0.1/32"]
    assert "ip" not in config, "the ip option garbles the address in 2.3.0"
    assert "10.47.0.1/24" in config["ifup"] and "mtu 1427" in config["ifup"]
    assert config["port-forwarding"] is False


def test_vpncloud_lookup_route_goes_to_loopback_only() -> None:
    assert vpncloud.lookup_route("10.77.0.2") == ["8.8.8.8/32", "dev", "lo", "src", "10.77.0.2"]


def test_vpncloud_genkey_garbage_is_a_clear_error() -> None:
    with pytest.raises(VpnError, match="genkey"):
        vpncloud.parse_genkey("error: no entropy\n")


# -- Headscale + Tailscale ---------------------------------------------------------------------


def _headscale_config(state_dir: PurePosixPath) -> str:
    return headscale.render_headscale_config(
        state_dir=state_dir, listen_address="10.77.0.1", control_port=8080, stun_port=3478,
        prefix_v4="100.64.0.0/10")


def test_headscale_config_has_embedded_derp_and_nothing_public() -> None:
    config = json.loads(_headscale_config(PurePosixPath("/state/hs")))
    assert config["server_url"] == "http://10.77.0.1:8080"
    assert config["listen_addr"] == "10.77.0.1:8080"
    assert config["derp"]["urls"] == [] and config["derp"]["paths"] == []
    assert config["derp"]["server"]["enabled"] is True
    assert config["derp"]["server"]["stun_listen_addr"] == "10.77.0.1:3478"
    assert config["dns"]["magic_dns"] is False and config["dns"]["nameservers"]["global"] == []
    assert config["logtail"]["enabled"] is False
    assert config["prefixes"]["v4"] == "100.64.0.0/10"
    assert config["database"]["sqlite"]["path"] == "/state/hs/db.sqlite"
    assert config["unix_socket"].startswith("/run/")


@pytest.mark.skipif(shutil.which("headscale") is None, reason="headscale not installed")
def test_real_headscale_accepts_the_rendered_config(tmp_path: Path) -> None:
    path = tmp_path / "headscale.yaml"
    path.write_text(_headscale_config(PurePosixPath(tmp_path)))
    result = subprocess.run(["headscale", "-c", str(path), "configtest"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "noise_private.key").exists()


def test_server_url_brackets_ipv6() -> None:
    assert headscale.server_url("fd00::1", 8080) == "http://[fd00::1]:8080"


def test_tailscale_commands_keep_state_apart_and_key_off_argv() -> None:
    daemon = headscale.tailscaled_argv(state_dir=PurePosixPath("/s/ts"), interface="tailscale0",
                                       port=41641)
    assert "--statedir=/s/ts" in daemon and "--socket=/run/tailscaled.sock" in daemon
    assert "--no-logs-no-support" in daemon
    up = headscale.tailscale_up_argv(login_server="http://10.77.0.1:8080",
                                     auth_key_file=PurePosixPath("/s/authkey"), hostname="yuki")
    assert "--auth-key=file:/s/authkey" in up
    assert {"--accept-dns=false", "--netfilter-mode=off", "--hostname=yuki"} <= set(up)


def test_headscale_cli_outputs_parse() -> None:
    users = '[{"id": 1, "name": "other"}, {"id": 7, "name": "vpn-bench"}]'
    assert headscale.user_id(users, "vpn-bench") == 7
    assert headscale.preauth_key('{"key": "hskey-auth-xyz", "reusable": true}') == (
        "hskey-auth-xyz")
    with pytest.raises(VpnError, match="no user"):
        headscale.user_id("[]", "vpn-bench")
    with pytest.raises(VpnError, match="preauthkeys"):
        headscale.preauth_key("Error: user not found")


# -- Mycelium ---------------------------------------------------------------------------------


def test_mycelium_inspect_output_parses_around_log_lines() -> None:
    output = ('2026-01-01T00:00:00Z INFO Using key file key_path="/k"\n'
              '{\n  "publicKey": "ab12",\n  "address": "5c1:f025::1"\n}\n')
    assert mycelium.parse_inspect(output) == "5c1:f025::1"
    with pytest.raises(VpnError, match="inspect"):
        mycelium.parse_inspect("no key file")


def test_mycelium_runs_with_static_peers_only() -> None:
    argv = mycelium.daemon_argv(key_file="/s/key.bin", peers=["tcp://10.77.0.2:9651"],
                                port=9651, interface="mycelium")
    assert "--disable-peer-discovery" in argv
    assert argv[argv.index("--peers") + 1:] == ["tcp://10.77.0.2:9651"]
    assert argv[argv.index("--tun-name") + 1] == "mycelium"
    assert len(mycelium.new_node_key()) == 32


# -- ZeroTier ---------------------------------------------------------------------------------


def test_zerotier_ids_and_names() -> None:
    assert zerotier.node_id("89e92ceee5:0:abcdef\n") == "89e92ceee5"
    assert zerotier.network_id("89e92ceee5") == "89e92ceee5000001"
    assert zerotier.moon_world_id("89e92ceee5") == "00000089e92ceee5"
    with pytest.raises(VpnError, match="identity"):
        zerotier.node_id("not-an-identity")


def test_zerotier_moon_definition_gets_the_lan_endpoint() -> None:
    initmoon = json.dumps({"id": "89e92ceee5", "objtype": "world", "worldType": "moon",
                           "roots": [{"identity": "89e92ceee5:0:ab", "stableEndpoints": []}],
                           "signingKey": "aa", "updatesMustBeSignedBy": "aa",
                           "updatesMustBeSignedBy_SECRET": "bb"})
    moon = json.loads(zerotier.moon_definition(initmoon, "10.77.0.1/9993"))
    assert moon["roots"][0]["stableEndpoints"] == ["10.77.0.1/9993"]
    assert moon["updatesMustBeSignedBy_SECRET"] == "bb"


def test_zerotier_local_conf_hints_peers_and_turns_off_public_helpers() -> None:
    conf = json.loads(zerotier.render_local_conf(
        port=9993, hints={"1111111111": "10.77.0.2/9993", "2222222222": "10.77.0.3/9993"}))
    assert conf["virtual"]["2222222222"] == {"try": ["10.77.0.3/9993"]}
    settings = conf["settings"]
    assert settings["primaryPort"] == 9993
    assert settings["allowTcpFallbackRelay"] is False
    assert settings["portMappingEnabled"] is False
    assert settings["softwareUpdate"] == "disable"


def test_zerotier_controller_objects_assign_static_addresses() -> None:
    network = zerotier.network_config("10.49.0.0/24", None)
    assert network["private"] is True and network["routes"] == [
        {"target": "10.49.0.0/24", "via": None}]
    assert network["v4AssignMode"] == {"zt": False} and "mtu" not in network
    assert zerotier.member_config("10.49.0.2") == {"authorized": True,
                                                   "ipAssignments": ["10.49.0.2"]}


# -- Hyprspace ------------------------------------------------------------------------------------

#: Peer ID of "peer1" in hyprspace's own NixOS test (nixos/test.nix).
UPSTREAM_PEER_ID = "12D3KooWP6VEGDDp6eiCSubLai8A9hoAWuFN9A2A5BysyaSbXtRN"


def test_hyprspace_peer_ids_decode_to_identity_multihash_of_an_ed25519_key() -> None:
    raw = base58.decode(UPSTREAM_PEER_ID)
    assert len(raw) == 38
    assert raw[:6] == bytes([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])


def test_hyprspace_builtin_address_matches_upstream_vector() -> None:
    # config/idhash_test.go: a peer ID of ten zero bytes keeps the base address 100.64.1.2.
    assert hyprspace.builtin_ipv4("1" * 10) == "100.64.1.2"
    assert hyprspace.builtin_ipv4(UPSTREAM_PEER_ID).startswith("100.64.")


def test_hyprspace_config_lists_peers_by_id_and_never_the_public_bootstrap_nodes() -> None:
    seed = hyprspace.bootstrap_address("10.77.0.1", 8001, "12D3KooWroot")
    assert seed == "/ip4/10.77.0.1/tcp/8001/p2p/12D3KooWroot"
    member = json.loads(hyprspace.render_config(private_key="z23", listen="10.77.0.2", port=8001,
                                                bootstrap=[seed], peers={"yuki": "12D3KooWabc"}))
    assert member["peers"] == [{"id": "12D3KooWabc", "name": "yuki"}]
    assert member["listenAddresses"] == ["/ip4/10.77.0.2/tcp/8001",
                                         "/ip4/10.77.0.2/udp/8001/quic-v1"]
    assert member["bootstrapPeers"] == [seed]
    root = json.loads(hyprspace.render_config(private_key="z23", listen="10.77.0.1", port=8001,
                                              bootstrap=[], peers={}))
    assert root["bootstrapPeers"] == []  # present and empty: absent means upstream's public list
    v6 = hyprspace.bootstrap_address("fd00::1", 8001, "12D3KooWx")
    assert v6 == "/ip6/fd00::1/tcp/8001/p2p/12D3KooWx"


def test_hyprspace_interface_names_differ_per_host_and_fit_ifnamsiz() -> None:
    names = hyprspace.interface_names("hyprspace-very-long", ["lom", "yuki", "luna"])
    assert len(set(names.values())) == 3
    assert all(len(name) <= 15 for name in names.values())
    assert hyprspace.interface_names("hyprspace", ["a", "b"]) == {"a": "hyprspace0",
                                                                   "b": "hyprspace1"}


#: Made by `hyprspace init` (0.15.0) here: the config's privateKey and the ID it printed.
INIT_PRIVATE_KEY = ("z23jhTbvWw128tkDCEX2Sm1pEaGehv327CUPLYGbL4rDSwcSsCJEYEvJKdoL2RfjFyMfTCNYDei"
                    "r5aUyEPwuxgGy5c9gSr")
INIT_PEER_ID = "12D3KooWCLBLNUYGWiduSiH6AgKu7TWQBg3ttkETyVVMCE8DVoA6"


def test_hyprspace_init_key_round_trips_through_our_encoding() -> None:
    seed, public = hyprspace.parse_private_key(INIT_PRIVATE_KEY)
    assert hyprspace.peer_id(public) == INIT_PEER_ID
    assert hyprspace.private_key_text(seed, public) == INIT_PRIVATE_KEY
