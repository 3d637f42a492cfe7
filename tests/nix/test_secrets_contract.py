"""The key-material contract (modules/lib/secrets.nix) is what docs/secrets.md documents, what
the shipped sites and test keys contain, and what the VPN modules cover.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.vpns.registry import VPNS, with_keys
from tests.nix.nixeval import REPO, lib_expr, nix_eval, nix_path

DOC = REPO / "docs" / "secrets.md"
TEMPLATE = REPO / "docs" / "site-template"
TEST_SITE = REPO / "nix" / "tests" / "fixtures" / "site"
TEST_KEYS = REPO / "nix" / "tests" / "fixtures" / "insecure-test-keys"
HOSTS = ["lom", "yuki", "luna"]


@pytest.fixture(scope="module")
def contract() -> Any:
    return nix_eval(
        f"let s = {lib_expr()}.secrets; in {{ inherit (s) secretsDir contract requiredPrivate "
        "requiredPublic; }"
    )


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_doc_names_every_file_of_the_contract(contract: Any) -> None:
    text = DOC.read_text()
    assert contract["secretsDir"] in text
    for vpn, sides in contract["contract"].items():
        for name in sides["private"]:
            assert f"{vpn}/{name}" in text, f"docs/secrets.md does not mention {vpn}/{name}"
        for name in sides["public"]:
            assert f"public/{vpn}/{name}" in text, f"docs/secrets.md lacks public/{vpn}/{name}"


def test_required_files_are_part_of_the_contract(contract: Any) -> None:
    for vpn, names in contract["requiredPrivate"].items():
        assert set(names) <= set(contract["contract"][vpn]["private"]), vpn
    for vpn, wanted in contract["requiredPublic"].items():
        assert set(wanted["perHost"]) | set(wanted["once"]) <= set(
            contract["contract"][vpn]["public"]), vpn


@pytest.mark.parametrize("site", [TEMPLATE, TEST_SITE], ids=["template", "test-site"])
def test_sites_hold_exactly_the_required_public_files(contract: Any, site: Path) -> None:
    expected = set()
    for vpn, wanted in contract["requiredPublic"].items():
        expected |= {f"{vpn}/{name}" for name in wanted["once"]}
        expected |= {f"{vpn}/{name.replace('{host}', h)}" for name in wanted["perHost"]
                     for h in HOSTS}
    assert files_under(site / "public") == expected


def test_test_keys_hold_exactly_the_required_private_files(contract: Any) -> None:
    expected = {f"{h}/{vpn}/{name}" for h in HOSTS
                for vpn, names in contract["requiredPrivate"].items() for name in names}
    assert files_under(TEST_KEYS) == expected


def test_nothing_private_in_the_sites() -> None:
    for site in (TEMPLATE, TEST_SITE):
        for path in site.rglob("*"):
            if path.is_file():
                text = path.read_text(errors="replace")
                assert "PRIVATE KEY" not in text, path
                assert not path.name.endswith((".key", ".priv", ".secret")), path


def test_one_module_per_known_vpn() -> None:
    modules = nix_eval(f"builtins.attrNames (import {nix_path(REPO / 'modules')})")
    known = nix_eval(f"{lib_expr()}.vpnConfigs.knownVpns")
    assert sorted(set(modules) - {"common", "default", "specialisations"}) == sorted(known)
    shipped = sorted(p.stem for p in (REPO / "vpn-configs" / "vpns").glob("*.toml"))
    assert shipped == sorted(known)
    assert sorted(VPNS) == sorted(known), "harness registry and Nix modules name other VPNs"


def test_contract_covers_exactly_the_vpns_whose_keys_are_made(contract: Any) -> None:
    """The contract's files made by ``vpn-bench keys`` belong to exactly the VPNs whose
    registry entry has ``keys`` (the others say where their material comes from)."""
    made = {vpn.name for vpn in with_keys()}
    by_keys = {vpn for vpn, sides in contract["contract"].items()
               if sides["public"] or any(str(entry["origin"]).startswith("vpn-bench keys")
                                         for entry in sides["private"].values())}
    assert by_keys == made
