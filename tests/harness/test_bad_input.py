"""Every bad input of every harness subcommand (issue 13): one row each.

Each row: argv after ``vpn-bench``, the damaged files it needs, the words of the one error
line. tests/bad_input.py asserts for every row: exit 2, one ``error:`` line, no traceback,
nothing on stdout, the scratch tree unchanged. A new subcommand adds its rows here (the
analysis has its own table in tests/analysis/test_bad_input.py). No row needs root except
the ``as_user`` ones (they switch to ``nobody``); dry runs and read-only checks only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness.limits import MAX_REPETITIONS, MAX_SEED
from harness.records.models import RunManifest
from harness.runner.plan import RunPlan
from harness.runner.run import plan_to_json
from tests.bad_input import Case, Setup, check_case, params, row

HOSTS = ["lom", "yuki", "luna"]
#: A file every process (root too) fails to read: EIO at offset 0.
UNREADABLE = "/proc/self/mem"


# -- setups: the damaged files a row needs -------------------------------------------------
def write(name: str, content: str | bytes, mode: int | None = None) -> Setup:
    def setup(tmp: Path) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        if mode is not None:
            path.chmod(mode)
    return setup


def plan_file(text: str) -> Setup:
    return write("plan.toml", text)


def link(name: str, target: str) -> Setup:
    def setup(tmp: Path) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target.replace("{tmp}", str(tmp)))
    return setup


def directory(name: str, mode: int = 0o755) -> Setup:
    def setup(tmp: Path) -> None:
        (tmp / name).mkdir(parents=True)
        (tmp / name).chmod(mode)
    return setup


def both(*setups: Setup) -> Setup:
    def setup(tmp: Path) -> None:
        for each in setups:
            each(tmp)
    return setup


def manifest(edit: Callable[[dict[str, Any]], object] = lambda _m: None,
             vpns: tuple[str, ...] = ("internal",), backend: str = "local") -> Setup:
    """A resumable run directory ``run/`` whose manifest ``edit`` damages."""
    def setup(tmp: Path) -> None:
        plan = RunPlan(hosts=HOSTS, vpns=list(vpns), profiles=["baseline"],
                       tests=["tcp", "ping"], seed=1)
        document = json.loads(RunManifest(
            run_id="run", started_at=datetime(2026, 1, 1, tzinfo=UTC), backend=backend,
            hosts=HOSTS, vpns=list(vpns), plan=plan_to_json(plan)).model_dump_json())
        edit(document)
        (tmp / "run").mkdir()
        (tmp / "run" / "manifest.json").write_text(json.dumps(document, indent=2))
    return setup


def plan_edit(**changes: object) -> Callable[[dict[str, Any]], object]:
    return lambda document: document["plan"].update(changes)


def damaged_manifest(transform: Callable[[bytes], bytes]) -> Setup:
    def setup(tmp: Path) -> None:
        manifest()(tmp)
        path = tmp / "run" / "manifest.json"
        path.write_bytes(transform(path.read_bytes()))
    return setup


def keys_with_link(name: str) -> Setup:
    """A keys --out whose ``name`` is a symlink into another (e.g. another user's) dir."""
    return both(directory("keys"), directory("elsewhere"), link(f"keys/{name}", "{tmp}/elsewhere"))


DRY = "run --dry-run --vpn internal"
RESUME = "run --dry-run --resume {tmp}/run"

# -- run ---------------------------------------------------------------------------------
RUN = [
    # names and empty lists
    row("vpn-unknown", f"{DRY} --vpn nosuch", "unknown VPN 'nosuch'", "valid: internal"),
    row("vpn-empty", ("run", "--dry-run", "--vpn", ""), "no VPN given", "valid: internal"),
    row("vpn-commas", ("run", "--dry-run", "--vpn", ", ,"), "no VPN given"),
    row("vpn-markup", ("run", "--dry-run", "--vpn", "[/]"), "unknown VPN '[/]'", "valid:"),
    row("vpn-markup-bold", ("run", "--dry-run", "--vpn", "[bold]x"), "'[bold]x'"),
    row("test-empty", ("run", "--dry-run", "--vpn", "internal", "--test", ""),
        "no test given", "valid: parallel_tcp"),
    row("test-unknown", f"{DRY} --test video", "unknown test 'video'", "valid:"),
    row("profile-empty", ("run", "--dry-run", "--vpn", "internal", "--profile", ""),
        "no profile given", "valid: baseline"),
    row("profile-unknown", f"{DRY} --profile extreme", "unknown profile 'extreme'",
        "valid: baseline, low, medium, high"),
    row("profile-markup", ("run", "--dry-run", "--profile", "[red]x[/]"), "'[red]x[/]'"),
    # numbers: finite and bounded
    row("duration-nan", f"{DRY} --duration nan", "--duration nan", "from 1 to 3600"),
    row("duration-inf", f"{DRY} --duration inf", "--duration inf", "from 1 to 3600"),
    row("duration-below-iperf3-resolution", f"{DRY} --duration 0.0001", "--duration 0.0001",
        "a whole number from 1 to 3600"),
    row("duration-negative", f"{DRY} --duration -5", "--duration -5"),
    row("duration-huge", f"{DRY} --duration 1e9", "--duration 1e9"),
    row("ping-interval-nan", f"{DRY} --ping-interval nan", "--ping-interval nan", "finite"),
    row("ping-interval-inf", f"{DRY} --ping-interval inf", "--ping-interval inf"),
    row("ping-count-huge", f"{DRY} --ping-count 100000000", "--ping-count 100000000",
        "from 1 to 100000"),
    row("ready-timeout-nan", f"{DRY} --ready-timeout nan", "--ready-timeout", "got nan"),
    row("ready-timeout-inf", f"{DRY} --ready-timeout inf", "--ready-timeout", "at most 3600"),
    row("ready-timeout-zero", f"{DRY} --ready-timeout 0", "--ready-timeout", "above 0"),
    row("repeat-zero", f"{DRY} --repeat 0", "--repeat", f"from 1 to {MAX_REPETITIONS}"),
    row("repeat-huge", f"{DRY} --repeat 100000000", "--repeat", f"from 1 to {MAX_REPETITIONS}"),
    row("repeat-not-a-number", f"{DRY} --repeat x", "--repeat", "run --help"),
    row("seed-negative", f"{DRY} --seed -1", "--seed", f"from 0 to {MAX_SEED}"),
    row("seed-2^64", f"{DRY} --seed {MAX_SEED + 1}", "--seed", f"from 0 to {MAX_SEED}"),
    row("hosts-one", f"{DRY} --hosts 1", "--hosts", "from 2 to 200"),
    row("hosts-huge", f"{DRY} --hosts 100000", "--hosts", "from 2 to 200"),
    row("param-nan", f"{DRY} --param udp.bitrate_mbps=nan", "udp.bitrate_mbps=nan"),
    row("param-unknown", f"{DRY} --param udp.nosuch=1", "udp", "nosuch"),
    row("offloads", f"{DRY} --offloads maybe", "--offloads 'maybe'", "valid: default, on, off"),
    row("engine", f"{DRY} --engine fast", "fast", "auto"),
    row("tcp-tuning", f"{DRY} --tcp-tuning fast", "fast", "reorder-tolerant"),
    row("backend", f"{DRY} --backend nosuch", "unknown backend 'nosuch'", "valid: local"),
    row("backend-ssh-without-inventory", f"{DRY} --backend ssh", "--inventory"),
    row("unknown-option", f"{DRY} --bogus", "No such option: --bogus"),
    row("force-without-resume", f"{DRY} --force", "--force", "--resume"),
    # output directory, checked before anything is built (a dry run checks it too)
    row("out-proc", f"{DRY} --out /proc/nosuch/x", "--out /proc/nosuch/x", "writable"),
    row("out-sys", f"{DRY} --out /sys/vpn-bench", "--out /sys/vpn-bench", "writable"),
    row("out-is-a-file", f"{DRY} --out {{tmp}}/file", "{tmp}/file is not a directory",
        setup=write("file", "x")),
    row("out-below-a-file", f"{DRY} --out {{tmp}}/file/results", "{tmp}/file is not a dir",
        setup=write("file", "x")),
    row("out-symlink-loop", f"{DRY} --out {{tmp}}/loop/x", "symlink loop",
        setup=link("loop", "{tmp}/loop")),
    row("out-root-owned", f"{DRY} --out {{tmp}}/root-owned/results", "Permission denied",
        setup=directory("root-owned"), as_user=True),
    row("out-checked-before-the-testbed", "run --vpn internal --out /proc/nosuch/x",
        "--out /proc/nosuch/x", "writable", as_user=True),
    row("inventory-missing", f"{DRY} --inventory {{tmp}}/none.toml", "no such file"),
    row("inventory-non-utf8", f"{DRY} --inventory {{tmp}}/inv.toml", "not UTF-8",
        setup=write("inv.toml", b"\xff")),
    row("inventory-with-local-backend", f"{DRY} --backend nosuch --inventory {{tmp}}/inv.toml",
        "--inventory selects the ssh backend", setup=write("inv.toml", "")),
    # plan files: I/O
    row("plan-missing", f"{DRY} --plan {{tmp}}/none.toml", "{tmp}/none.toml does not exist"),
    row("plan-directory", f"{DRY} --plan {{tmp}}/plandir", "is a directory",
        setup=directory("plandir")),
    row("plan-symlink-loop", f"{DRY} --plan {{tmp}}/loop", "{tmp}/loop", "symbolic links",
        setup=link("loop", "{tmp}/loop")),
    row("plan-binary", f"{DRY} --plan {{tmp}}/plan.toml", "not UTF-8",
        setup=write("plan.toml", b"\x00\xff\xfe\x01binary")),
    row("plan-non-utf8", f"{DRY} --plan {{tmp}}/plan.toml", "not UTF-8",
        setup=write("plan.toml", b'vpns = ["internal"]\n# caf\xe9\n')),
    row("plan-unreadable", f"{DRY} --plan {{tmp}}/plan.toml", "cannot be read",
        setup=link("plan.toml", UNREADABLE)),
    row("plan-mode-000", f"{DRY} --plan {{tmp}}/plan.toml", "--plan", "not readable",
        setup=write("plan.toml", "", mode=0), as_user=True),
    row("plan-invalid-toml", f"{DRY} --plan {{tmp}}/plan.toml", "plan file", "plan.toml",
        setup=plan_file("vpns = [\n")),
    row("plan-unknown-key", f"{DRY} --plan {{tmp}}/plan.toml", "vpnz", "top-level keys",
        setup=plan_file('vpnz = ["internal"]\n')),
    # plan files: empty lists, numbers, names
    row("plan-vpns-empty", "run --dry-run --plan {tmp}/plan.toml", "vpns", "at least 1",
        setup=plan_file("vpns = []\n")),
    row("plan-tests-empty", f"{DRY} --plan {{tmp}}/plan.toml", "tests", "at least 1",
        setup=plan_file("tests = []\n")),
    row("plan-profiles-empty", f"{DRY} --plan {{tmp}}/plan.toml", "profiles", "at least 1",
        setup=plan_file("profiles = []\n")),
    row("plan-vpn-section-tests-empty", "run --dry-run --plan {tmp}/plan.toml",
        "vpn.internal.tests", "at least 1",
        setup=plan_file('vpns = ["internal"]\n[vpn.internal]\ntests = []\n')),
    row("plan-duration-inf", f"{DRY} --plan {{tmp}}/plan.toml", "duration = inf", "finite",
        setup=plan_file("duration = inf\n")),
    row("plan-duration-nan", f"{DRY} --plan {{tmp}}/plan.toml", "duration = nan",
        setup=plan_file("duration = nan\n")),
    row("plan-ping-interval-nan", f"{DRY} --plan {{tmp}}/plan.toml", "ping_interval",
        setup=plan_file("ping_interval = nan\n")),
    row("plan-repetitions-zero", f"{DRY} --plan {{tmp}}/plan.toml", "repetitions",
        setup=plan_file("repetitions = 0\n")),
    row("plan-repetitions-huge", f"{DRY} --plan {{tmp}}/plan.toml", "repetitions",
        f"less than or equal to {MAX_REPETITIONS}", setup=plan_file("repetitions = 100000000\n")),
    row("plan-seed-negative", f"{DRY} --plan {{tmp}}/plan.toml", "seed",
        setup=plan_file("seed = -1\n")),
    row("plan-seed-2^64", f"{DRY} --plan {{tmp}}/plan.toml", "seed",
        setup=plan_file(f"seed = {MAX_SEED + 1}\n")),
    row("plan-timeout-inf", f"{DRY} --plan {{tmp}}/plan.toml", "test.udp.timeout",
        setup=plan_file("[test.udp]\ntimeout = inf\n")),
    row("plan-links-zero", f"{DRY} --plan {{tmp}}/plan.toml", "test.rist.links",
        "greater than or equal to 1", setup=plan_file("[test.rist]\nlinks = 0\n")),
    row("plan-links-fraction", f"{DRY} --plan {{tmp}}/plan.toml", "test.rist.links",
        setup=plan_file("[test.rist]\nlinks = 1.5\n")),
    row("plan-links-string", f"{DRY} --plan {{tmp}}/plan.toml", "test.rist.links",
        setup=plan_file('[test.rist]\nlinks = "2"\n')),
    row("plan-backoff-nan", f"{DRY} --plan {{tmp}}/plan.toml", "test.udp.backoff",
        setup=plan_file("[test.udp]\nbackoff = nan\n")),
    row("plan-vpn-section-markup", "run --dry-run --plan {tmp}/plan.toml", "[vpn.wireguard]",
        setup=plan_file('vpns = ["internal"]\n[vpn.wireguard]\ntests = ["tcp"]\n')),
    row("plan-impairment-name-newline", f"{DRY} --plan {{tmp}}/plan.toml",
        "impairment.'lossy\\n'", "profile names are lower-case",
        setup=plan_file('profiles = ["baseline"]\n[impairment."lossy\\n"]\ndelay_ms = 5\n')),
    row("plan-engine", f"{DRY} --plan {{tmp}}/plan.toml", "fast", "auto",
        setup=plan_file('engine = "fast"\n')),
    row("plan-retries-huge", f"{DRY} --plan {{tmp}}/plan.toml", "test.udp.retries",
        setup=plan_file("[test.udp]\nretries = 100\n")),
    row("plan-hosts-one", f"{DRY} --plan {{tmp}}/plan.toml", "hosts",
        setup=plan_file("hosts = 1\n")),
    row("plan-wrong-type", f"{DRY} --plan {{tmp}}/plan.toml", "vpns",
        setup=plan_file('vpns = "internal"\n')),
    row("plan-unknown-test-section", f"{DRY} --plan {{tmp}}/plan.toml", "unknown test section",
        setup=plan_file("[test.video]\nretries = 1\n")),
    row("plan-unknown-parameter", f"{DRY} --plan {{tmp}}/plan.toml", "ping has no parameter",
        setup=plan_file("[test.ping]\ncont = 3\n")),
    row("plan-section-upper-case", f"{DRY} --plan {{tmp}}/plan.toml", "[test.UDP]",
        "write [test.udp]", setup=plan_file("[test.UDP]\nretries = 0\n")),
    row("plan-impairment-delay-nan", f"{DRY} --plan {{tmp}}/plan.toml", "impairment.lossy",
        "delay_ms", setup=plan_file("[impairment.lossy]\ndelay_ms = nan\n")),
    # --resume: the rule for other flags
    *(row(f"resume-with{flag.replace('-', '_')}", f"{RESUME} {flag} {value}",
          "--resume finishes a run", flag, "start a new run", setup=manifest())
      for flag, value in (("--vpn", "internal"), ("--test", "tcp"), ("--profile", "high"),
                          ("--duration", "5"), ("--ping-count", "3"), ("--param", "udp.port=1"),
                          ("--hosts", "3"), ("--repeat", "2"), ("--plan", "{tmp}/p.toml"),
                          ("--engine", "tc"), ("--tcp-tuning", "none"), ("--seed", "7"))),
    row("resume-bad-flag-values-too", f"{RESUME} --duration -5 --vpn nosuch --plan /none.toml",
        "--resume finishes a run", "--vpn", "--duration", "--plan", setup=manifest()),
    # --resume: damaged run directories
    row("resume-missing", RESUME, "{tmp}/run: no such directory"),
    row("resume-a-file", RESUME, "has no manifest.json", setup=write("run", "x")),
    row("resume-empty-dir", RESUME, "has no manifest.json", setup=directory("run")),
    row("resume-truncated", RESUME, "not valid JSON", "start a new run",
        setup=damaged_manifest(lambda data: data[: len(data) // 2])),
    row("resume-empty-manifest", RESUME, "not valid JSON", setup=damaged_manifest(lambda _d: b"")),
    row("resume-json-array", RESUME, "not a run manifest",
        setup=damaged_manifest(lambda _d: b"[]")),
    row("resume-non-utf8", RESUME, "not UTF-8", setup=damaged_manifest(lambda d: d + b"\xff")),
    row("resume-unreadable", RESUME, "manifest.json cannot be read",
        setup=both(directory("run"), link("run/manifest.json", UNREADABLE))),
    row("resume-unreadable-index", RESUME, "index.jsonl cannot be read",
        setup=both(manifest(), link("run/index.jsonl", UNREADABLE))),
    row("resume-schema-9", RESUME, "record schema 9", "start a new run",
        setup=manifest(lambda m: m.update(schema_version=9))),
    row("resume-schema-missing", RESUME, "record schema None",
        setup=manifest(lambda m: m.pop("schema_version"))),
    row("resume-newer-field", RESUME, "fields this harness does not know (shiny)",
        "newer vpn-bench", setup=manifest(lambda m: m.update(shiny=True))),
    row("resume-bad-field", RESUME, "not a valid run manifest", "started_at",
        setup=manifest(lambda m: m.update(started_at="yesterday"))),
    row("resume-no-plan", RESUME, "holds no plan", setup=manifest(lambda m: m.update(plan={}))),
    row("resume-plan-repetitions-0", RESUME, "repetitions", "from 1 to",
        setup=manifest(plan_edit(repetitions=0))),
    row("resume-plan-repetitions-huge", RESUME, "repetitions", f"from 1 to {MAX_REPETITIONS}",
        setup=manifest(plan_edit(repetitions=10**9))),
    row("resume-plan-seed", RESUME, "seed", f"from 0 to {MAX_SEED}",
        setup=manifest(plan_edit(seed=-5))),
    row("resume-plan-no-vpn", RESUME, "names no VPN", setup=manifest(plan_edit(vpns=[]))),
    row("resume-plan-links-0", RESUME, "[test.tcp] links", "from 1 to 200",
        setup=manifest(plan_edit(policies={"tcp": {"links": 0}}))),
    row("resume-plan-links-negative", RESUME, "[test.tcp] links", "from 1 to 200",
        setup=manifest(plan_edit(policies={"tcp": {"links": -1}}))),
    row("resume-plan-timeout-0", RESUME, "[test.ping] timeout", "above 0",
        setup=manifest(plan_edit(policies={"ping": {"timeout_s": 0}}))),
    row("resume-plan-unknown-test", RESUME, "unknown test(s) video",
        setup=manifest(plan_edit(tests=["tcp", "video"]))),
    row("resume-plan-undefined-profile", RESUME, "lossy without a definition",
        setup=manifest(plan_edit(profiles=["lossy"]))),
    row("resume-plan-duration-0", RESUME, "plan is not valid",
        setup=manifest(lambda m: m["plan"].update(parameters={"tcp": {"duration_s": 0}}))),
    row("resume-record-outside", RESUME, "'../../etc/passwd'", "outside the run directory",
        setup=manifest(lambda m: m.update(records=["../../etc/passwd"]))),
    row("resume-record-absolute", RESUME, "'/etc/passwd'", "outside the run directory",
        setup=manifest(lambda m: m.update(records=["/etc/passwd"]))),
    row("resume-session-outside", RESUME, "outside the run directory",
        setup=manifest(lambda m: m.update(sessions=["../x/session.json"]))),
    row("resume-index-outside", RESUME, "'../x.json'", "outside the run directory",
        setup=both(manifest(), write("run/index.jsonl", '{"seq": 1, "record": "../x.json"}\n'))),
    row("resume-unknown-vpn", RESUME, "VPNs this harness does not know: nosuchvpn",
        setup=manifest(vpns=("internal", "nosuchvpn"))),
    row("resume-vpn-unavailable", RESUME, "cannot resume here: tinc", "not installed",
        setup=both(manifest(vpns=("internal", "tinc")), directory("empty-path")),
        env={"PATH": "{tmp}/empty-path"}),
    row("resume-other-backend", RESUME, "used the ssh backend", "--inventory",
        setup=manifest(backend="ssh")),
    # not a dry run: validation still comes first (no lock file, nothing cleaned)
    row("resume-wet-truncated", "run --resume {tmp}/run", "not valid JSON",
        setup=damaged_manifest(lambda data: data[:10])),
    row("resume-wet-flags", "run --resume {tmp}/run --vpn internal", "--resume finishes",
        setup=manifest()),
    row("resume-wet-other-backend", "run --resume {tmp}/run", "used the ssh backend",
        setup=manifest(backend="ssh")),
    row("resume-wet-vpn-unavailable", "run --resume {tmp}/run", "cannot resume here: tinc",
        setup=both(manifest(vpns=("internal", "tinc")), directory("empty-path")),
        env={"PATH": "{tmp}/empty-path"}),
    row("resume-wet-not-writable", "run --resume {tmp}/run", "{tmp}/run cannot be written",
        setup=manifest(), as_user=True),
]

# -- the other subcommands ---------------------------------------------------------------
OTHERS = [
    row("help-unknown-command", "nosuch", "No such command 'nosuch'"),
    row("list-extra-argument", "list extra", "unexpected extra argument"),
    row("doctor-unknown-option", "doctor --bogus", "No such option: --bogus"),
    row("clean-unknown-option", "clean --bogus", "No such option: --bogus"),
    row("impair-check-no-profile", "impair-check", "--profile"),
    row("impair-check-vm", "impair-check --profile high --backend vm",
        "impair-check --backend vm", "only `vpn-bench run`", "valid backends for impair-check"),
    row("impair-check-profile-empty", ("impair-check", "--profile", ""), "no profile given"),
    row("impair-check-profile-unknown", "impair-check --profile extreme",
        "unknown profile 'extreme'"),
    row("impair-check-probes-zero", "impair-check --profile high --probes 0", "--probes"),
    row("impair-check-probes-huge", "impair-check --profile high --probes 100000000000",
        "--probes"),
    row("impair-check-rate-nan", "impair-check --profile high --rate nan", "--rate", "nan"),
    row("impair-check-rate-inf", "impair-check --profile high --rate inf", "--rate", "inf"),
    row("impair-check-confidence-nan", "impair-check --profile high --confidence nan",
        "--confidence"),
    row("impair-check-confidence-2", "impair-check --profile high --confidence 2",
        "--confidence"),
    row("impair-check-seed-negative", "impair-check --profile high --seed -1", "--seed",
        f"from 0 to {MAX_SEED}"),
    row("impair-check-seed-2^64", f"impair-check --profile high --seed {MAX_SEED + 1}",
        "--seed"),
    row("impair-check-engine", "impair-check --profile high --engine fast", "fast"),
    row("impair-check-backend", "impair-check --profile high --backend nosuch",
        "unknown backend 'nosuch'"),
    row("impair-check-json-proc", "impair-check --profile high --json /proc/nosuch/r.json",
        "--json /proc/nosuch/r.json", "writable"),
    row("impair-check-json-directory", "impair-check --profile high --json {tmp}",
        "--json {tmp} is a directory"),
    row("keys-vpn-empty", ("keys", "--out", "{tmp}/keys", "--vpn", ""), "no VPN given",
        "valid: wireguard"),
    row("keys-vpn-unknown", "keys --out {tmp}/keys --vpn nosuch", "unknown VPN 'nosuch'"),
    row("keys-vpn-markup", ("keys", "--out", "{tmp}/keys", "--vpn", "[/]"), "'[/]'"),
    row("keys-vpn-elsewhere", "keys --out {tmp}/keys --vpn zerotier", "makes nothing for"),
    row("keys-out-proc", "keys --vpn easytier --out /proc/nosuch/keys", "--out /proc/nosuch/keys",
        "writable"),
    row("keys-out-sys", "keys --vpn easytier --out /sys/vpn-bench-keys", "writable"),
    row("keys-out-file", "keys --vpn easytier --out {tmp}/file", "is not a directory",
        setup=write("file", "x")),
    row("keys-out-secrets-symlink", "keys --vpn easytier --out {tmp}/keys",
        "{tmp}/keys/secrets is a symlink", setup=keys_with_link("secrets")),
    row("keys-out-public-symlink", "keys --vpn easytier --out {tmp}/keys",
        "{tmp}/keys/public is a symlink", setup=keys_with_link("public")),
    row("keys-out-host-symlink", "keys --vpn easytier --out {tmp}/keys",
        "{tmp}/keys/secrets/lom is a symlink",
        setup=both(directory("keys/secrets"), directory("elsewhere"),
                   link("keys/secrets/lom", "{tmp}/elsewhere"))),
    row("keys-out-root-owned", "keys --vpn easytier --out {tmp}/root-owned/keys",
        "Permission denied", setup=directory("root-owned"), as_user=True),
    # an empty path would silently mean the working directory
    *(row(f"empty-path-{index}-{argv[0]}", argv, "'': an empty path")
      for index, argv in enumerate((
                   ("run", "--dry-run", "--out", ""), ("run", "--dry-run", "--plan="),
                   ("run", "--dry-run", "--resume", ""), ("run", "--inventory", ""),
                   ("keys", "--out", ""), ("keys", "--vpn", "easytier", "--out="),
                   ("impair-check", "--profile", "high", "--json", ""),
                   ("hosts", "trust", "--inventory", "")))),
    row("compare-one-run", "compare {tmp}/a", "at least two runs", setup=directory("a")),
    row("compare-missing-run", "compare {tmp}/a {tmp}/none", "{tmp}/none: no such directory",
        setup=directory("a")),
    row("compare-same-run-twice", "compare {tmp}/a {tmp}/a", "are the same directory",
        setup=directory("a")),
    row("compare-out-inside-input", "compare {tmp}/a {tmp}/b --out {tmp}/a/cmp",
        "inside the input", setup=both(directory("a"), directory("b"))),
    row("deploy-no-inventory", "deploy", "Missing option '--inventory'"),
    row("deploy-inventory-missing", "deploy --inventory {tmp}/none.toml", "no such file"),
    row("hosts-no-subcommand-option", "hosts trust", "--inventory"),
    row("hosts-inventory-missing", "hosts trust --inventory {tmp}/none.toml", "no such file"),
    row("hosts-inventory-directory", "hosts trust --inventory {tmp}/inv", "inventory",
        setup=directory("inv")),
    row("hosts-inventory-non-utf8", "hosts trust --inventory {tmp}/inv.toml", "not UTF-8",
        setup=write("inv.toml", b"\xff\xfe")),
    row("hosts-inventory-invalid", "hosts trust --inventory {tmp}/inv.toml", "not valid TOML",
        setup=write("inv.toml", "[hosts\n")),
]


@pytest.mark.parametrize("case", params([*RUN, *OTHERS]))
def test_bad_input_is_one_line_exit_2_nothing_created(case: Case) -> None:
    check_case(case)


def test_rows_cover_every_subcommand() -> None:
    """A new subcommand needs its rows (here, or in the analysis table)."""
    import typer

    from harness.cli.app import app

    command = typer.main.get_command(app)
    names = set(getattr(command, "commands", {})) - {"analysis"}
    covered = {case.argv[0] for case in [*RUN, *OTHERS]}
    assert names <= covered, f"subcommands without bad-input rows: {names - covered}"


def test_the_real_entry_point_behaves_the_same(tmp_path: Path) -> None:
    """The in-process rows call main(); one row through ``python -m harness`` too."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "harness", "run", "--dry-run", "--vpn", "[/]",
                             "--out", str(tmp_path / "out")], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "unknown VPN '[/]'" in result.stderr
    assert list(tmp_path.iterdir()) == []


# -- the behaviour around the table: what good input next to bad input does --------------
def test_resume_dry_run_lists_exactly_the_cells_still_to_measure(tmp_path: Path) -> None:
    """ok records count as done; a failed record and a missing one are still to measure;
    the dry run reads the directory without locking, cleaning or adopting anything."""
    from harness.records.store import RunStore
    from tests.analysis import record_factory as rf
    from tests.bad_input import tree_state

    manifest()(tmp_path)
    run_dir = tmp_path / "run"
    store = RunStore.open_for_writing(run_dir)
    for record in (rf.tcp("internal", ("lom", "yuki"), 900, run_id="run"),
                   rf.tcp("internal", ("yuki", "luna"), 900, run_id="run"),
                   rf.ping("internal", ("luna", "lom"), 1.0, 0.5, 2.0, 0.1, run_id="run"),
                   rf.failed("internal", ("lom", "yuki"), "ping", "lost", run_id="run")):
        store.add_record(record)
    store.save_manifest()
    store.close()
    (run_dir / "internal" / "baseline" / "rep0" / "tcp" / ".left-by-a-killed-writer.tmp"
     ).write_text("partial")
    before = tree_state(tmp_path)

    result = _main("run", "--dry-run", "--resume", str(run_dir))
    assert result.code == 0, result.stderr
    assert "still to measure: 3 cells in 1 of 1 sessions:" in result.stdout
    lines = [line.split() for line in result.stdout.splitlines()]
    assert ["tcp", "luna->lom"] in lines
    assert ["ping", "lom->yuki,", "yuki->luna"] in lines
    assert not any(line[:1] == ["tcp"] and "lom->yuki" in " ".join(line) for line in lines)
    assert tree_state(tmp_path) == before, "a dry run changed the run directory"

    forced = _main("run", "--dry-run", "--resume", str(run_dir), "--force")
    assert "still to measure: 6 cells in 1 of 1 sessions:" in forced.stdout


def _main(*argv: str) -> Any:
    from tests.bad_input import _run_in_process

    return _run_in_process(list(argv), Path.cwd(), {})


def test_profiles_vpns_and_tests_are_case_insensitive(tmp_path: Path) -> None:
    result = _main("run", "--dry-run", "--vpn", "Internal", "--test", "TCP",
                   "--profile", "HIGH,Baseline", "--out", str(tmp_path / "out"))
    assert result.code == 0, result.stderr
    assert "internal   high      tcp" in result.stdout
    assert "internal   baseline  tcp" in result.stdout
    assert list(tmp_path.iterdir()) == [], "a dry run created something"


def _all_commands() -> list[tuple[list[str], Any]]:
    import typer

    from harness.cli.app import app

    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk([*path, name], sub)

    walk([], typer.main.get_command(app))
    return found


@pytest.mark.parametrize(("path", "command"), [
    pytest.param(path, command, id=" ".join(path) or "vpn-bench")
    for path, command in _all_commands()])
def test_help_shows_every_bracketed_text(path: list[str], command: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Help texts are rich markup: an unescaped ``[default: 30]`` or ``[easytier]``
    vanishes. Every bracketed text of every option's help must be visible in --help."""
    import re

    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.setenv("TERMINAL_WIDTH", "1000")
    result = _main(*path, "--help")
    assert result.code == 0, result.stderr
    shown = " ".join(result.stdout.replace("│", " ").split())
    for param in getattr(command, "params", []):
        help_text = (getattr(param, "help", None) or "").replace("\\[", "[")
        for bracketed in re.findall(r"\[[^\]]*\]", help_text):
            assert " ".join(bracketed.split()) in shown, f"{param.name}: {bracketed} vanished"
    if path == ["run"]:
        for default in ("[default: 30]", "[default: 100]", "[default: baseline]",
                        "[default: 1]", "[default: random, recorded]"):
            assert default in shown


def test_list_shows_install_hints_with_their_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    """``pip install 'vpn-bench[easytier]'`` stays whole in the table of `vpn-bench list`."""
    from harness.cli import info

    hint = "not installed (pip install 'vpn-bench[easytier]'; [/] [bold]x)"
    monkeypatch.setattr(info, "availability",
                        lambda settings: dict.fromkeys(settings, hint))
    monkeypatch.setenv("COLUMNS", "1000")
    result = _main("list")
    assert result.code == 0, result.stderr
    assert "vpn-bench[easytier]" in result.stdout
    assert "[/] [bold]x" in result.stdout


def test_keys_output_directory_is_not_world_writable_under_umask_000(tmp_path: Path) -> None:
    out = tmp_path / "new" / "keys"
    old = os.umask(0)
    try:
        result = _main("keys", "--vpn", "easytier", "--out", str(out))
    finally:
        os.umask(old)
    assert result.code == 0, result.stderr
    directories = [tmp_path / "new", out, *(p for p in out.rglob("*") if p.is_dir())]
    assert out / "secrets" in directories
    for directory in directories:
        assert directory.stat().st_mode & 0o022 == 0, f"{directory} is group/world-writable"
    for path in out.rglob("*"):
        assert path.stat().st_mode & 0o002 == 0, f"{path} is world-writable"
