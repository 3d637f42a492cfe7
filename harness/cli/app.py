"""Entry point: `vpn-bench run | list | doctor | clean | analysis | compare`."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from harness.errors import UsageError
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
             "hosts; needs --inventory).")] = "local",
    inventory: Annotated[Path | None, typer.Option(
        help="Inventory of real hosts (TOML); implies --backend ssh. See docs/real-hosts.md.")
    ] = None,
    offloads: Annotated[str, typer.Option(
        help="LAN segmentation offloads: default, on, off.")] = "default",
    ready_timeout: Annotated[float | None, typer.Option(
        help="Seconds to wait for the overlay (default per VPN, 60).")] = None,
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
        seed=seed, backend=backend, inventory=inventory,
    )
    raise typer.Exit(execute(request, console))


@app.command("list")
def list_command() -> None:
    """VPNs, tests and profiles, and which VPNs can run here (and why not)."""
    from harness.cli.info import print_list

    print_list(console)


@app.command()
def doctor() -> None:
    """Check this machine: root, namespaces, kernel features, every binary and its version."""
    from harness.cli.info import print_doctor

    raise typer.Exit(print_doctor(console))


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

    app.command("analysis")(analysis_command)
    app.command("compare")(compare_command)
    app.command("impair-check")(impair_check_command)
    app.command("keys")(keys_command)
    app.add_typer(hosts_app, name="hosts")


_register_subcommands()


def main() -> None:
    """Console script: map expected errors to messages and exit codes."""
    try:
        # Without standalone mode typer returns the exit code (typer.Exit, and 130 for
        # Ctrl-C) instead of exiting, and lets our own exceptions through.
        code = app(standalone_mode=False)
    except UsageError as error:
        errors.print(f"error: {error}", markup=False)
        sys.exit(2)
    except ConfigError as error:
        errors.print(f"configuration error: {error}", markup=False)
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
        show = getattr(error, "show", None)
        if callable(show):
            show()
        sys.exit(int(getattr(error, "exit_code", 2)))
    if code == 130:
        errors.print("interrupted; everything this run created was removed")
    sys.exit(code if isinstance(code, int) else 0)
