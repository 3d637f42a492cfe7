"""vpb-http-serve: files only, read-only, one address, bad input refused with exit 2."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.workloads.http_serve import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serves_files_but_no_listings_and_refuses_writes(tmp_path: Path) -> None:
    (tmp_path / "nar").mkdir()
    (tmp_path / "nix-cache-info").write_text("StoreDir: /nix/store\n")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "harness.workloads.http_serve",
                               str(tmp_path), "--bind", "127.0.0.1", "--port", str(port),
                               "--max-seconds", "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and "serving" in server.stdout.readline()
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/nix-cache-info", timeout=5) as response:
            assert response.read() == b"StoreDir: /nix/store\n"
        with pytest.raises(urllib.error.HTTPError) as listing:
            urllib.request.urlopen(f"{base}/nar/", timeout=5)
        assert listing.value.code == 404
        put = urllib.request.Request(f"{base}/x", data=b"x", method="PUT")
        with pytest.raises(urllib.error.HTTPError) as write:
            urllib.request.urlopen(put, timeout=5)
        assert write.value.code == 501
        assert not (tmp_path / "x").exists()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_exits_by_itself_after_max_seconds(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "harness.workloads.http_serve",
                             str(tmp_path), "--bind", "127.0.0.1", "--port",
                             str(_free_port()), "--max-seconds", "0.5"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr  # exited on its own, not killed by run()


@pytest.mark.parametrize("argv", [
    ["{dir}", "--bind", "localhost", "--port", "8080"],
    ["{dir}", "--bind", "127.0.0.1", "--port", "0"],
    ["{dir}/missing", "--bind", "127.0.0.1", "--port", "8080"],
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main([arg.format(dir=tmp_path) for arg in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vpb-http-serve: ") and "\n" not in err
