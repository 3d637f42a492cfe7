"""Entry point: `vpn-bench run | list | doctor | clean | analysis | compare | impair-check |
keys | hosts | deploy`."""

from __future__ import annotations

import contextlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from harness.errors import UsageError
from harness.hosts.ssh import SshHost
from harness.runner.signals import Interrupted
from harness.settings.loader import ConfigError
from harness.testbed.base import TestbedError
from harness.workloads.parameters import SharedParameter, shared_parameters
from harness.workloads.registry import TEST_NAMES

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Reproducible benchmarks of VPNs and mesh overlays on a namespace testbed.",
)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

VpnOption = Annotated[list[str], typer.Option(
    "--vpn", help="VPN(s), comma list or repeated; 'all'. Default: every VPN runnable here.")]
TestOption = Annotated[list[str], typer.Option(
    "--test", help=f"Test(s): {', '.join(TEST_NAMES)}; 'all'.")]
ParamOption = Annotated[list[str], typer.Option(
    "--param", metavar="TEST.PARAMETER=VALUE",
    help="Set any workload parameter, e.g. udp.bitrate_mbps=100; repeatable; wins over "
         "the shared flags and the plan file. `vpn-bench list` shows every parameter.")]
ProfileOption = Annotated[list[str], typer.Option(
    "--profile", help="Impairment profile(s): baseline, low, medium, high, custom ones from "
                      "--plan; comma list; 'all' \\[default: baseline].")]

Command = TypeVar("Command", bound=Callable[..., Any])


def _shared_option(shared: SharedParameter) -> inspect.Parameter:
    """A command-line option for a shared workload parameter, described by its models."""
    default = f"{shared.default:g}" if isinstance(shared.default, float) else shared.default
    tests = ", ".join(f"{test}.{field}" for test, field in shared.targets)
    metavar = {int: "INTEGER", float: "NUMBER"}.get(shared.annotation, "VALUE")
    option = typer.Option(shared.flag, metavar=metavar,
                          help=f"{escape(shared.description)} Sets {tests}. "
                               f"\\[default: {default}]")
    return inspect.Parameter(shared.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                             default=None, annotation=Annotated[str | None, option])


def with_workload_options(command: Command) -> Command:
    """Give ``command`` one option per shared workload parameter (``--duration`` ...),
    taken from the workload parameter models; the values arrive in its ``**kwargs``."""
    signature = inspect.signature(command, eval_str=True)
    declared = [p for p in signature.parameters.values()
                if p.kind is not inspect.Parameter.VAR_KEYWORD]
    at = next((i + 1 for i, p in enumerate(declared) if p.name == "profile"), len(declared))
    options = [_shared_option(shared) for shared in shared_parameters().values()]
    command.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*declared[:at], *options, *declared[at:]])
    return command


@app.command()
@with_workload_options
def run(
    vpn: VpnOption = [],  # noqa: B006 - typer reads list defaults, never mutated
    test: TestOption = [],  # noqa: B006
    profile: ProfileOption = [],  # noqa: B006
    param: ParamOption = [],  # noqa: B006
    hosts: Annotated[int | None, typer.Option(
        help="Number of hosts: lom, yuki, luna, h4... \\[default: 3].")] = None,
    repeat: Annotated[int | None, typer.Option(
        help="Repetitions of the whole plan; VPN order alternates \\[default: 1].")] = None,
    plan: Annotated[Path | None, typer.Option(
        help="TOML plan file (per-VPN tests/profiles, per-profile overrides, timeouts).")] = None,
    out: Annotated[Path, typer.Option(help="Directory for run directories.")] = Path("results"),
    resume: Annotated[Path | None, typer.Option(
        help="Finish an interrupted run: measure only cells without an ok record.")] = None,
    force: Annotated[bool, typer.Option(
        help="With --resume: measure every cell again.")] = False,
    engine: Annotated[str | None, typer.Option(
        help="Impairment engine: auto (tc netem if the kernel has it, else the userspace "
             "link), tc, userspace \\[default: auto].")] = None,
    tcp_tuning: Annotated[str | None, typer.Option(
        help="Host TCP sysctls: none, reorder-tolerant \\[default: none].")] = None,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the impairment draws \\[default: random, recorded].")] = None,
    backend: Annotated[str, typer.Option(
        help="How hosts are reached: local (network namespaces on this machine), ssh (real "
             "hosts; needs --inventory), vm (NixOS test-driver VMs; only inside "
             "`nix run .#bench-vm`).")] = "local",
    inventory: Annotated[Path | None, typer.Option(
        help="Inventory of real hosts (TOML); implies --backend ssh. See docs/real-hosts.md.")
    ] = None,
    offloads: Annotated[str, typer.Option(
        help="LAN segmentation offloads: default, on, off.")] = "default",
    nixos: Annotated[bool, typer.Option(
        help="With --inventory: the VPNs are the hosts' NixOS specialisations (deployed with "
             "`vpn-bench deploy`), switched with switch-to-configuration test.")] = False,
    secrets: Annotated[Path | None, typer.Option(
        help="With --nixos: the --out directory of `vpn-bench keys`; each VPN's private "
             "files are copied to its hosts before switching to it.")] = None,
    ready_timeout: Annotated[float | None, typer.Option(
        help="Seconds to wait for the overlay (default per VPN, 60; with --nixos 120, "
             "the wait for the specialisation's units).")] = None,
    progress: Annotated[bool, typer.Option(
        help="Live progress display (default: on a terminal).")] = True,
    dry_run: Annotated[bool, typer.Option(
        help="Print the plan and its estimated duration.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit 1 when any measurement failed.")] = False,
    **workload: str | None,
) -> None:
    """Bring up each VPN on a fresh testbed and measure it; records go to OUT/<run-id>/."""
    from harness.cli.run_command import RunRequest, execute

    if force and resume is None:
        raise UsageError("--force only applies together with --resume RUN_DIR")
    request = RunRequest(
        vpns=vpn, tests=test, profiles=profile,
        workload_flags={name: value for name, value in workload.items() if value is not None},
        params=param, hosts=hosts, out_dir=out, repetitions=repeat,
        offloads=offloads, ready_timeout_s=ready_timeout,
        live_progress=None if progress else False, dry_run=dry_run, strict=strict,
        plan_file=plan, resume=resume, force=force, engine=engine, tcp_tuning=tcp_tuning,
        seed=seed, backend=backend, inventory=inventory, nixos=nixos, secrets=secrets,
    )
    raise typer.Exit(execute(request, console))


InventoryOption = Annotated[Path | None, typer.Option(
    help="Ask the real hosts of this inventory (over SSH) instead of this machine.")]


@app.command("list")
def list_command(inventory: InventoryOption = None) -> None:
    """VPNs, tests and profiles, and which VPNs can run here (and why not)."""
    from harness.cli.info import print_list

    if inventory is None:
        print_list(console)
        return
    with _inventory_hosts(inventory) as hosts:
        print_list(console, hosts)


@app.command()
def doctor(inventory: InventoryOption = None) -> None:
    """Check this machine: root, namespaces, kernel features, every binary and its version."""
    from harness.cli.info import print_doctor, print_doctor_hosts

    if inventory is None:
        raise typer.Exit(print_doctor(console))
    with _inventory_hosts(inventory) as hosts:
        code = print_doctor_hosts(console, hosts)
    raise typer.Exit(code)


def _inventory_hosts(inventory: Path) -> contextlib.AbstractContextManager[list[SshHost]]:
    """Every host of the inventory, checked (pinned key, login, interface), connected."""
    from harness.testbed.ssh.backend import SshBackend
    from harness.testbed.ssh.inventory import load_inventory

    backend = SshBackend(load_inventory(inventory))
    backend.check_support()
    return backend.open_hosts(list(backend.inventory.hosts))


@app.command()
def clean(
    include_running: Annotated[bool, typer.Option(
        help="Also tear down testbeds whose harness still runs.")] = False,
) -> None:
    """Remove what a crashed run left behind (only resources vpn-bench created)."""
    from harness.testbed.local.cleanup import clean_all
    from harness.testbed.local.system import require_local_testbed_support

    require_local_testbed_support()
    removed, skipped = clean_all(include_running=include_running)
    for item in removed:
        console.print(f"removed {item}")
    for testbed_id in skipped:
        console.print(f"kept testbed {testbed_id}: its harness is still running "
                      "(--include-running to remove it anyway)")
    if not removed and not skipped:
        console.print("nothing to clean")


def _register_subcommands() -> None:
    """Commands whose code lives with their own package."""
    from analysis.cli import analysis_command, compare_command
    from harness.impairment.cli import impair_check_command
    from harness.keys.cli import keys_command
    from harness.testbed.ssh.cli import hosts_app
    from harness.testbed.ssh.deploy_cli import deploy_command

    app.command("analysis")(analysis_command)
    app.command("compare")(compare_command)
    app.command("impair-check")(impair_check_command)
    app.command("keys")(keys_command)
    app.add_typer(hosts_app, name="hosts")
    app.command("deploy")(deploy_command)


_register_subcommands()


def one_line(message: str) -> str:
    """Bad input is answered in one line, whatever the message was built from."""
    return " ".join(message.split())


def parser_error_line(error: Exception) -> str | None:
    """The parser's complaint as the one line every bad input gets (click prints usage,
    a hint and a boxed message); None for "no arguments" (the help is shown instead)."""
    if type(error).__name__ == "NoArgsIsHelpError":
        return None
    format_message = getattr(error, "format_message", None)
    text = format_message() if callable(format_message) else str(error)
    context = getattr(error, "ctx", None)
    command = getattr(context, "command_path", None)
    hint = f" (see: {command} --help)" if command else ""
    return "error: " + one_line(str(text)) + hint


def _is_path(param: Any) -> bool:
    try:
        return str(param.bare_type()) == "Path"
    except (AttributeError, TypeError):
        return False


def empty_path_value(argv: list[str]) -> str | None:
    """The option or argument given ``''`` where a path is expected: ``Path('')`` is the
    working directory, so ``keys --out ''`` would silently write there."""
    command: Any = typer.main.get_command(app)
    args = list(argv)
    while args and args[0] in getattr(command, "commands", {}):
        command = command.commands[args.pop(0)]
    params = list(getattr(command, "params", []))
    options = [p for p in params if getattr(p, "param_type_name", "") == "option"]
    takes_value = {name for p in options if not getattr(p, "is_flag", False)
                   for name in p.opts}
    paths = {name for p in options if _is_path(p) for name in p.opts}
    positional: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        name, equals, value = arg.partition("=")
        if arg == "--":
            positional += args[index + 1:]
            break
        if arg.startswith("--") and equals:
            if name in paths and not value:
                return name
        elif arg in takes_value:
            if arg in paths and index + 1 < len(args) and not args[index + 1]:
                return arg
            index += 1
        elif not arg.startswith("-"):
            positional.append(arg)
        index += 1
    arguments = [p for p in params if getattr(p, "param_type_name", "") == "argument"]
    for param, value in zip(arguments, positional, strict=False):
        if not value and _is_path(param):
            return str(param.name).upper()
    return None


def main() -> None:
    """Console script: map expected errors to messages and exit codes."""
    empty = empty_path_value(sys.argv[1:])
    if empty is not None:
        errors.print(f"error: {empty} '': an empty path (it would mean the working "
                     "directory); give a path", markup=False, highlight=False)
        sys.exit(2)
    try:
        # Without standalone mode typer returns the exit code (typer.Exit, and 130 for
        # Ctrl-C) instead of exiting, and lets our own exceptions through.
        code = app(standalone_mode=False)
    except UsageError as error:
        errors.print(f"error: {one_line(str(error))}", markup=False, highlight=False)
        sys.exit(2)
    except ConfigError as error:
        errors.print(f"configuration error: {one_line(str(error))}", markup=False,
                     highlight=False)
        sys.exit(2)
    except TestbedError as error:
        errors.print(f"testbed error: {error}", markup=False)
        sys.exit(1)
    except typer.Abort:
        errors.print("aborted")
        sys.exit(130)
    except Interrupted as stop:
        errors.print(f"stopped ({stop}); everything this run created was removed")
        sys.exit(128 + stop.signum)
    except typer.TyperException as error:  # usage errors of the parser itself
        message = parser_error_line(error)
        if message is None:  # no arguments: the help text, as click shows it
            show = getattr(error, "show", None)
            if callable(show):
                show()
        else:
            errors.print(message, markup=False, highlight=False)
        sys.exit(int(getattr(error, "exit_code", 2)))
    if code == 130:
        errors.print("interrupted; everything this run created was removed")
    sys.exit(code if isinstance(code, int) else 0)
