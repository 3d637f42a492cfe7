"""`vpn-bench keys` with the real tools: every pair checked by the tool that will use it,
the layout of the contract, modes, refusal, --force, and nothing half-written on failure.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.keys.writer import install
from harness.settings.addressing import prefix_length, static_overlay_address
from harness.settings.loader import load_testbed, load_vpns
from harness.vpns import base58
from harness.vpns.hyprspace import libp2p_key_protobuf, parse_private_key, peer_id
from harness.vpns.material import KeyFile, KeyGeneration, KeyMaterialError, PrivateFile, PublicFile
from harness.vpns.registry import with_keys

REPO = Path(__file__).resolve().parents[2]
EXTRA_BIN = Path("/opt/vpn-bench/bin")  # scripts/build-vpns.sh
TOOL_PATH = os.pathsep.join([os.environ.get("PATH", ""), str(EXTRA_BIN)])
HOSTS = load_testbed().hosts
FIXTURES = REPO / "nix" / "tests" / "fixtures"

#: Runs the real entry point (harness.cli.app.main, which maps errors to exit codes) with
#: the keys command registered the way the lead registers it, unless it already is.
ENTRY = """
from harness.cli.app import app, main
from harness.keys.cli import keys_command
if "keys" not in {c.name or c.callback.__name__ for c in app.registered_commands}:
    app.command("keys")(keys_command)
main()
"""


#: The key generation of every VPN that has one, from the registry (registry order).
GENERATORS: dict[str, KeyGeneration] = {
    vpn.name: vpn.keys for vpn in with_keys() if vpn.keys is not None}


def missing_tools(vpn: str, path: str = TOOL_PATH) -> list[str]:
    return [req.how_to_install() for req in GENERATORS[vpn].tools
            if shutil.which(req.binary, path=path) is None]


AVAILABLE = [vpn for vpn in GENERATORS if not missing_tools(vpn)]


def require(vpn: str) -> None:
    if vpn not in AVAILABLE:
        pytest.skip(f"{vpn}: not installed: {'; '.join(missing_tools(vpn))}")


def vpn_bench_keys(*args: str, path: str = TOOL_PATH,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": path, **(env or {})}
    return subprocess.run([sys.executable, "-c", ENTRY, "keys", *args], capture_output=True,
                          text=True, timeout=300, env=environment, cwd=REPO)


def tool(*argv: str, stdin: str | bytes = "") -> str:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    result = subprocess.run(list(argv), input=data, capture_output=True, timeout=60,
                            env={**os.environ, "PATH": TOOL_PATH})
    assert result.returncode == 0, f"{argv}: {result.stderr.decode()}"
    return result.stdout.decode()


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file (and mode), to prove nothing changed."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            + oct(p.stat().st_mode) for p in sorted(root.rglob("*")) if p.is_file()}


def one_line(path: Path) -> str:
    text = path.read_text()
    assert text.endswith("\n") and text.count("\n") == 1, f"{path} is not one line: {text!r}"
    return text.strip()


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run for every VPN whose tools are installed here."""
    directory = tmp_path_factory.mktemp("keys") / "out"
    result = vpn_bench_keys("--out", str(directory), "--vpn", ",".join(AVAILABLE))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    return directory


# -- pure encodings against published vectors ---------------------------------------------

def test_base58_known_vectors() -> None:
    assert base58.encode(b"hello world") == "StV1DL6CwTryKyV"
    assert base58.encode(b"\0\0\x01") == "112"
    assert base58.decode("StV1DL6CwTryKyV") == b"hello world"
    assert base58.decode("112") == b"\0\0\x01"
    with pytest.raises(ValueError, match="'0' is not a base58 character"):
        base58.decode("10")


def test_libp2p_encoding_matches_the_spec_vector() -> None:
    """The Ed25519 test vector of the libp2p peer-ids spec (also used by rust-libp2p)."""
    seed = bytes.fromhex("7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d")
    public = bytes.fromhex("1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e")
    assert libp2p_key_protobuf(public).hex() == "08011220" + public.hex()
    assert libp2p_key_protobuf(seed + public).hex() == "08011240" + seed.hex() + public.hex()
    assert peer_id(public) == "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"


# -- the generated site -------------------------------------------------------------------

def test_layout_is_exactly_the_contract(out: Path) -> None:
    from tests.nix.nixeval import lib_expr, nix_eval

    contract: Any = nix_eval(f"({lib_expr()}).secrets.contract")
    expected = set()
    for vpn in AVAILABLE:
        for name in contract[vpn]["public"]:
            names = [name.replace("{host}", h) for h in HOSTS] if "{host}" in name else [name]
            expected |= {f"public/{vpn}/{n}" for n in names}
        expected |= {f"secrets/{h}/{vpn}/{name}"
                     for h in HOSTS for name in contract[vpn]["private"]}
    assert {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} == expected


def test_private_files_0600_in_0700_dirs_public_0644(out: Path) -> None:
    secrets = out / "secrets"
    assert secrets.stat().st_mode & 0o777 == 0o700
    for path in secrets.rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path
    for path in (out / "public").rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "staging dir left behind"


def check_wireguard(public: Path, secrets: Path) -> None:
    keys = set()
    for host in HOSTS:
        private = one_line(secrets / host / "wireguard" / "private.key")
        assert tool("wg", "pubkey", stdin=private + "\n").strip() == one_line(
            public / "wireguard" / f"{host}.pub")
        keys.add(private)
    assert len(keys) == len(HOSTS)


def x25519_public(raw_private: bytes) -> bytes:
    """openssl's X25519 public key of a raw private key (PKCS#8 of RFC 8410 around it)."""
    der = bytes.fromhex("302e020100300506032b656e04220420") + raw_private
    return subprocess.run(["openssl", "pkey", "-inform", "DER", "-pubout", "-outform", "DER"],
                          input=der, capture_output=True, check=True, timeout=60).stdout[-32:]


def check_nebula(public: Path, secrets: Path) -> None:
    settings = load_vpns()["nebula"]
    ca = public / "nebula" / "ca.crt"
    for host in HOSTS:
        crt = public / "nebula" / f"{host}.crt"
        tool("nebula-cert", "verify", "-ca", str(ca), "-crt", str(crt))
        printed = json.loads(tool("nebula-cert", "print", "-json", "-path", str(crt)))
        # nebula >= 1.10 prints a list of certificates, with "networks" for v2's "ips".
        cert = printed[0] if isinstance(printed, list) else printed
        details = cert["details"]
        address = static_overlay_address(settings, HOSTS, host)
        assert details["name"] == host
        assert details.get("networks", details.get("ips")) == [
            f"{address}/{prefix_length(settings)}"]
        assert not details["isCa"]
        key_lines = (secrets / host / "nebula" / "host.key").read_text().splitlines()
        assert key_lines[0] == "-----BEGIN NEBULA X25519 PRIVATE KEY-----"
        assert x25519_public(base64.b64decode(key_lines[1])).hex() == cert.get(
            "publicKey", details.get("publicKey"))


def check_tinc(public: Path, secrets: Path) -> None:
    seen = set()
    for host in HOSTS:
        private = secrets / host / "tinc" / "rsa_key.priv"
        public_file = public / "tinc" / f"{host}.pub"
        # lstrip: the committed fixtures keep the empty first line tincd writes.
        assert private.read_text().lstrip().startswith("-----BEGIN RSA PRIVATE KEY-----")
        assert public_file.read_text().startswith("-----BEGIN RSA PUBLIC KEY-----")
        from_private = tool("openssl", "rsa", "-in", str(private), "-pubout")
        from_public = tool("openssl", "rsa", "-RSAPublicKey_in", "-in", str(public_file),
                           "-pubout")
        assert from_private == from_public
        seen.add(from_public)
    assert len(seen) == len(HOSTS)


def check_hyprspace(public: Path, secrets: Path) -> None:
    for host in HOSTS:
        seed, embedded_public = parse_private_key(
            one_line(secrets / host / "hyprspace" / "private.key"))
        der = bytes.fromhex("302e020100300506032b657004220420") + seed
        derived = subprocess.run(
            ["openssl", "pkey", "-inform", "DER", "-pubout", "-outform", "DER"], input=der,
            capture_output=True, check=True, timeout=60).stdout[-32:]
        assert derived == embedded_public, f"{host}: seed and public half do not match"
        identifier = one_line(public / "hyprspace" / f"{host}.id")
        assert identifier.startswith("12D3KooW")
        assert identifier == peer_id(derived)


def check_easytier(secrets: Path) -> None:
    values = {one_line(secrets / host / "easytier" / "network.secret") for host in HOSTS}
    assert len(values) == 1
    (secret,) = values
    assert len(secret) == 64 and set(secret) <= set("0123456789abcdef")


def test_wireguard_public_keys_are_wg_pubkey_of_the_private_keys(out: Path) -> None:
    require("wireguard")
    check_wireguard(out / "public", out / "secrets")


def test_nebula_certificates_verify_and_carry_the_static_addresses(out: Path) -> None:
    require("nebula")
    check_nebula(out / "public", out / "secrets")


def test_tinc_keys_are_matching_rsa_pairs(out: Path) -> None:
    require("tinc")
    check_tinc(out / "public", out / "secrets")


def test_hyprspace_peer_ids_belong_to_the_private_keys(out: Path) -> None:
    require("hyprspace")
    check_hyprspace(out / "public", out / "secrets")


def test_easytier_secret_is_64_hex_and_the_same_everywhere(out: Path) -> None:
    require("easytier")
    check_easytier(out / "secrets")


def test_yggdrasil_private_keys_give_addresses(out: Path) -> None:
    require("yggdrasil")
    addresses = set()
    for host in HOSTS:
        key = one_line(out / "secrets" / host / "yggdrasil" / "private.key")
        assert len(key) == 128 and set(key) <= set("0123456789abcdef")
        der = bytes.fromhex("302e020100300506032b657004220420") + bytes.fromhex(key[:64])
        derived = subprocess.run(
            ["openssl", "pkey", "-inform", "DER", "-pubout", "-outform", "DER"], input=der,
            capture_output=True, check=True, timeout=60).stdout[-32:]
        assert derived.hex() == key[64:], "second half must be the seed's public key"
        address = tool("yggdrasil", "-useconf", "-address",
                       stdin=json.dumps({"PrivateKey": key})).strip()
        assert ipaddress.IPv6Address(address) in ipaddress.IPv6Network("200::/7")
        addresses.add(address)
    assert len(addresses) == len(HOSTS)


def test_vpncloud_keys_are_one_line_each_and_distinct(out: Path) -> None:
    require("vpncloud")
    values = set()
    for host in HOSTS:
        private = one_line(out / "secrets" / host / "vpncloud" / "private.key")
        public = one_line(out / "public" / "vpncloud" / f"{host}.pub")
        assert private.isalnum() and public.isalnum() and len(private) >= 40
        values |= {private, public}
    assert len(values) == 2 * len(HOSTS)


# -- refusal, --force, atomicity, bad input -----------------------------------------------

def test_refuses_to_overwrite_and_changes_nothing(out: Path) -> None:
    before = snapshot(out)
    result = vpn_bench_keys("--out", str(out), "--vpn", AVAILABLE[0])
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "refusing to overwrite" in message and "--force" in message
    assert snapshot(out) == before


@pytest.fixture
def wireguard_site(tmp_path: Path) -> Path:
    require("wireguard")
    require("easytier")
    site = tmp_path / "out"
    result = vpn_bench_keys("--out", str(site), "--vpn", "wireguard,easytier")
    assert result.returncode == 0, result.stderr
    return site


def test_force_replaces_every_host_of_the_selected_vpn_only(wireguard_site: Path) -> None:
    stale = wireguard_site / "secrets" / "oldhost" / "wireguard"
    stale.mkdir(parents=True)
    (stale / "private.key").write_text("stale\n")
    before = snapshot(wireguard_site)
    result = vpn_bench_keys("--out", str(wireguard_site), "--vpn", "wireguard", "--force")
    assert result.returncode == 0, result.stderr
    after = snapshot(wireguard_site)
    wireguard_files = [k for k in after if "wireguard" in k]
    assert len(wireguard_files) == 2 * len(HOSTS)
    assert all(after[k] != before[k] for k in wireguard_files), "some key was not regenerated"
    assert not stale.exists(), "a stale host's key of the regenerated VPN survived"
    assert {k: v for k, v in after.items() if "easytier" in k} == {
        k: v for k, v in before.items() if "easytier" in k}
    check_wireguard(wireguard_site / "public", wireguard_site / "secrets")


def path_without(tmp_path: Path, excluded: str) -> str:
    """A PATH holding every tool of the generators except ``excluded``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for generator in GENERATORS.values():
        for requirement in generator.tools:
            found = shutil.which(requirement.binary, path=TOOL_PATH)
            if found and requirement.binary != excluded and not (bin_dir / requirement.binary
                                                                  ).exists():
                (bin_dir / requirement.binary).symlink_to(found)
    return str(bin_dir)


def test_missing_tool_names_the_package_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "fresh" / "out"
    result = vpn_bench_keys("--out", str(target), "--vpn", "all",
                            path=path_without(tmp_path, "nebula-cert"))
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "nebula needs binary nebula-cert (Debian package nebula; Nix package nebula)" in message
    assert "--vpn wireguard,tinc" in message
    assert not (tmp_path / "fresh").exists()


def test_missing_tool_with_force_leaves_the_site_alone(
        wireguard_site: Path, tmp_path: Path) -> None:
    before = snapshot(wireguard_site)
    result = vpn_bench_keys("--out", str(wireguard_site), "--vpn", "wireguard,nebula",
                            "--force", path=path_without(tmp_path, "nebula-cert"))
    assert result.returncode == 2
    assert snapshot(wireguard_site) == before


@pytest.fixture
def ipv6_nebula_configs(tmp_path: Path) -> Iterator[Path]:
    """vpn-configs whose nebula subnet is IPv6, which nebula-cert before 1.10 refuses to sign
    (1.10's v2 certificates carry IPv6: see sign_refusing_path)."""
    configs = tmp_path / "vpn-configs"
    shutil.copytree(REPO / "vpn-configs", configs)
    nebula = configs / "vpns" / "nebula.toml"
    text = nebula.read_text()
    assert 'subnet = "10.45.0.0/24"' in text
    nebula.write_text(text.replace('subnet = "10.45.0.0/24"', 'subnet = "fd45::/64"'))
    yield configs


@pytest.fixture
def sign_refusing_path(tmp_path: Path) -> str:
    """TOOL_PATH with the real nebula-cert behind a wrapper that refuses IPv6 networks as
    nebula-cert 1.x before 1.10 did (1.10 signs them), so the failure happens midway."""
    real = shutil.which("nebula-cert", path=TOOL_PATH)
    assert real is not None
    wrapper_dir = tmp_path / "wrapped-bin"
    wrapper_dir.mkdir()
    wrapper = wrapper_dir / "nebula-cert"
    wrapper.write_text(
        "#!/bin/sh\n"
        'case "$*" in *sign*::*) echo "refusing IPv6 networks (nebula-cert < 1.10)" >&2; '
        "exit 1;; esac\n"
        f'exec {real} "$@"\n')
    wrapper.chmod(0o755)
    return os.pathsep.join([str(wrapper_dir), TOOL_PATH])


def test_tool_failing_midway_changes_nothing(
        wireguard_site: Path, ipv6_nebula_configs: Path, sign_refusing_path: str,
        tmp_path: Path) -> None:
    """wireguard is generated, then nebula-cert fails: the old site must stay as it was."""
    require("nebula")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    before = snapshot(wireguard_site)
    result = vpn_bench_keys(
        "--out", str(wireguard_site), "--vpn", "wireguard,nebula", "--force",
        path=sign_refusing_path,
        env={"VPN_BENCH_CONFIG_DIR": str(ipv6_nebula_configs), "TMPDIR": str(scratch)})
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split())
    assert "nebula-cert sign" in message and "nothing was written" in message
    assert snapshot(wireguard_site) == before
    assert sorted(p.name for p in wireguard_site.iterdir()) == ["public", "secrets"]
    assert list(scratch.iterdir()) == [], "scratch directory with private keys left behind"


def test_failure_during_the_swap_puts_the_old_directories_back(wireguard_site: Path) -> None:
    """public/wireguard is swapped first; then a host directory that is a file stops the
    swap, and the already replaced public/wireguard must be restored."""
    (wireguard_site / "secrets" / "blocked").write_text("a file where a directory goes\n")
    before = snapshot(wireguard_site)
    files: list[KeyFile] = [PublicFile("wireguard", "lom.pub", "new\n"),
             PrivateFile("blocked", "wireguard", "private.key", "new\n")]
    with pytest.raises(KeyMaterialError, match="cannot write the keys"):
        install(wireguard_site, files, ["wireguard"], force=True)
    assert snapshot(wireguard_site) == before
    assert sorted(p.name for p in wireguard_site.iterdir()) == ["public", "secrets"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vpn", "bogus"], "unknown VPN 'bogus'; valid: " + ", ".join(GENERATORS) + ", all"),
        (["--vpn", "zerotier"], "vpn-bench keys makes nothing for 'zerotier'"),
        (["--vpn", "wireguard,internal"], "vpn-bench keys makes nothing for 'internal'"),
        (["--vpn", "all,bogus"], "unknown VPN 'bogus'"),
    ],
)
def test_bad_vpn_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = vpn_bench_keys("--out", str(tmp_path / "out"), *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("not a directory\n")
    result = vpn_bench_keys("--out", str(target), "--vpn", "easytier")
    assert result.returncode == 2
    assert "is not a directory" in " ".join(result.stderr.split())
    assert target.read_text() == "not a directory\n"


# -- the VM-test fixtures -----------------------------------------------------------------

def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_fixture_script_reproduces_the_committed_layout(tmp_path: Path) -> None:
    for vpn in ("wireguard", "nebula", "tinc", "vpncloud", "hyprspace", "easytier"):
        require(vpn)
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(FIXTURES / "site" / "site.toml", site / "site.toml")
    result = subprocess.run(
        [sys.executable, str(FIXTURES / "generate.py"), "--site", str(site),
         "--secrets", str(tmp_path / "keys")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PATH": TOOL_PATH})
    assert result.returncode == 0, result.stderr
    assert files_under(site / "public") == files_under(FIXTURES / "site" / "public")
    assert files_under(tmp_path / "keys") == files_under(FIXTURES / "insecure-test-keys")
    check_wireguard(site / "public", tmp_path / "keys")
    check_hyprspace(site / "public", tmp_path / "keys")


def test_committed_vm_test_keys_are_matching_pairs() -> None:
    for vpn in ("wireguard", "nebula", "tinc", "hyprspace"):
        require(vpn)
    public, secrets = FIXTURES / "site" / "public", FIXTURES / "insecure-test-keys"
    check_wireguard(public, secrets)
    check_nebula(public, secrets)
    check_tinc(public, secrets)
    check_hyprspace(public, secrets)
    check_easytier(secrets)


def test_example_site_certificates_verify() -> None:
    require("nebula")
    public = REPO / "docs" / "site-template" / "public" / "nebula"
    for host in HOSTS:
        tool("nebula-cert", "verify", "-ca", str(public / "ca.crt"),
             "-crt", str(public / f"{host}.crt"))
