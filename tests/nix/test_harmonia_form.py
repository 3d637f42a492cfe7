"""modules/common.nix picks the services.harmonia option shape the evaluating nixpkgs declares
(older `signKeyPath`, flat `signKeyPaths`, newer `cache.*`). Evaluated without nixpkgs: the
module function is called with a stub lib and one stub `options` tree per shape, and only
`config.services.harmonia` is forced."""

from __future__ import annotations

from typing import Any

import pytest

from tests.nix.nixeval import REPO, nix_eval, nix_path

MODULE = """
let
  module = import {common};
  lib = {{
    mkIf = condition: content: {{ _type = "if"; inherit condition content; }};
  }};
  config = {{
    vpnBench = {{
      binaryCache.enable = true;
      secretsDir = "/var/lib/vpn-bench/secrets";
    }};
  }};
in
(module {{ inherit config lib; options = {options}; pkgs = {{ }}; }}).config.services.harmonia
"""
KEY = "/var/lib/vpn-bench/secrets/harmonia/cache.key"


def harmonia(options: str) -> Any:
    return nix_eval(MODULE.format(common=nix_path(REPO / "modules" / "common.nix"),
                                  options=options))


@pytest.mark.parametrize(("declared", "expected"), [
    ("{ services.harmonia = { cache = { }; enable = { }; signKeyPaths = { }; }; }",
     {"cache": {"enable": True, "signKeyPaths": [KEY]}}),
    ("{ services.harmonia = { enable = { }; signKeyPath = { }; signKeyPaths = { }; }; }",
     {"enable": True, "signKeyPaths": [KEY]}),
    ("{ services.harmonia = { enable = { }; signKeyPath = { }; }; }",
     {"enable": True, "signKeyPath": KEY}),
])
def test_the_declared_shape_is_used(declared: str, expected: dict[str, object]) -> None:
    value = harmonia(declared)
    assert value["_type"] == "if" and value["condition"] is True
    assert value["content"] == expected
