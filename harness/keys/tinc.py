"""tinc 1.0: an RSA pair per host from ``tincd -K`` (the format the module's host files use).

tinc 1.1's ``tincd`` has no ``-K``, and its key files differ, so the version is checked first.
"""

from __future__ import annotations

from harness.keys.files import KeyFile, KeyRequest, PrivateFile, PublicFile, file_text
from harness.keys.tools import TINCD, KeyMaterialError, run_text

VPN = "tinc"
TOOLS = (TINCD,)
RSA_BITS = 2048
PEM_START = "-----BEGIN"


def require_tinc_1_0(version_output: str) -> None:
    first = version_output.strip().splitlines()[0] if version_output.strip() else ""
    if not first.startswith("tinc version 1.0"):
        raise KeyMaterialError(
            f"tincd reports {first!r}; the tinc module needs tinc 1.0 (Debian package tinc, "
            "Nix package tinc, not tinc_pre)")


def generate(request: KeyRequest) -> list[KeyFile]:
    require_tinc_1_0(run_text(["tincd", "--version"]))
    files: list[KeyFile] = []
    for host in request.hosts:
        conf = request.workdir / f"tinc-{host}"
        (conf / "hosts").mkdir(parents=True, mode=0o700)
        (conf / "tinc.conf").write_text(f"Name = {host}\n")
        # Empty stdin: tincd -K asks where to save and takes the default for an empty answer.
        run_text(["tincd", "-c", str(conf), f"-K{RSA_BITS}"])
        private = (conf / "rsa_key.priv").read_text()
        host_file = (conf / "hosts" / host).read_text()
        if PEM_START not in host_file or PEM_START not in private:
            raise KeyMaterialError(f"tincd -K wrote no PEM key pair in {conf}")
        # tincd starts the file with an empty line; the PEM block alone is the contract.
        files.append(PrivateFile(host, VPN, "rsa_key.priv",
                                 file_text(private[private.index(PEM_START):])))
        files.append(PublicFile(VPN, f"{host}.pub",
                                file_text(host_file[host_file.index(PEM_START):])))
    return files
