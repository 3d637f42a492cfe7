"""tinc: an RSA pair per host (the format the module's host files use), from ``tincd -K``
(tinc 1.0) or ``tinc generate-rsa-keys`` (tinc 1.1, whose ``tincd`` has no ``-K``; same PEM
files), chosen by what ``tincd --version`` says.
"""

from __future__ import annotations

from harness.keys.files import KeyFile, KeyRequest, PrivateFile, PublicFile, file_text
from harness.keys.tools import TINCD, KeyMaterialError, run_text

VPN = "tinc"
TOOLS = (TINCD,)
RSA_BITS = 2048
PEM_START = "-----BEGIN"


def rsa_keygen_argv(version_output: str, conf: str) -> list[str]:
    """The command that writes ``rsa_key.priv`` and ``hosts/<Name>`` into ``conf``."""
    first = version_output.strip().splitlines()[0] if version_output.strip() else ""
    if first.startswith("tinc version 1.0"):
        return ["tincd", "-c", conf, f"-K{RSA_BITS}"]
    if first.startswith("tinc version 1.1"):
        return ["tinc", "-c", conf, "--batch", "generate-rsa-keys", str(RSA_BITS)]
    raise KeyMaterialError(f"tincd reports {first!r}; expected tinc 1.0 or 1.1")


def generate(request: KeyRequest) -> list[KeyFile]:
    version_output = run_text(["tincd", "--version"])
    files: list[KeyFile] = []
    for host in request.hosts:
        conf = request.workdir / f"tinc-{host}"
        (conf / "hosts").mkdir(parents=True, mode=0o700)
        (conf / "tinc.conf").write_text(f"Name = {host}\n")
        # Empty stdin: tincd -K asks where to save and takes the default for an empty answer.
        run_text(rsa_keygen_argv(version_output, str(conf)))
        private = (conf / "rsa_key.priv").read_text()
        host_file = (conf / "hosts" / host).read_text()
        if PEM_START not in host_file or PEM_START not in private:
            raise KeyMaterialError(f"tinc key generation wrote no PEM key pair in {conf}")
        # tincd starts the file with an empty line; the PEM block alone is the contract.
        files.append(PrivateFile(host, VPN, "rsa_key.priv",
                                 file_text(private[private.index(PEM_START):])))
        files.append(PublicFile(VPN, f"{host}.pub",
                                file_text(host_file[host_file.index(PEM_START):])))
    return files
