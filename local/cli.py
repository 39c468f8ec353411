"""Command line for the local stack: ``ptm local`` / ``python -m local``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from functions.common.config import Env
from functions.common.signing import SigningKeys, SigningSecretError
from infra.names import LOCAL_SIGNING_SECRET_VARIABLE
from infra.stage_config import StageConfigError, Toggle
from infra.task_type_options import TaskTypeOptionError
from local.banner import banner
from local.options import LocalOptions, PortInUseError
from local.stack import LocalStack

_OPTIONS = {
    "failure_rate": "--failure-rate",
    "max_receive_count": "--max-receive-count",
    "task_retention_days": "--task-retention-days",
}
"""The stage settings this command line overrides, by field."""


def _options(argv: list[str] | None, prog: str = "ptm local") -> LocalOptions:
    defaults = LocalOptions()
    parser = argparse.ArgumentParser(
        prog=prog, description="Run Process Task Manager on this machine (moto as the AWS emulator)."
    )
    parser.add_argument("--host", default=defaults.host, help="address to bind (default %(default)s)")
    parser.add_argument(
        "--api-port", type=int, default=defaults.api_port, help="HTTP API port (default %(default)s)"
    )
    parser.add_argument(
        "--emulator-port",
        type=int,
        default=defaults.emulator_port,
        help="moto server port (default %(default)s)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=defaults.time_scale,
        help="multiply retry waits, visibility timeout, reconcile period (default %(default)s: real time)",
    )
    parser.add_argument(
        "--failure-rate", type=float, default=defaults.failure_rate, help="FAILURE_RATE (%(default)s)"
    )
    parser.add_argument("--failure-seed", default=None, help="FAILURE_SEED: reproducible random failures")
    parser.add_argument(
        "--webhook-allowed-hosts",
        default=os.environ.get(Env.WEBHOOK_ALLOWED_HOSTS, ""),
        help="WEBHOOK_ALLOWED_HOSTS: hosts webhooks may reach whatever their address or scheme, "
        "e.g. 127.0.0.1 for a receiver on this machine (default: the variable, else none)",
    )
    parser.add_argument(
        "--webhook-signing-secret",
        default=os.environ.get(LOCAL_SIGNING_SECRET_VARIABLE) or None,
        help="WEBHOOK_SIGNING_SECRET: whsec_<base64> that signs webhook deliveries, or two separated "
        "by a space (default: the variable, else a new one, printed in the banner)",
    )
    parser.add_argument(
        "--api-auth",
        choices=("none", "iam", "jwt"),
        default=defaults.api_auth,
        help="emulate API Gateway's authorization: iam (SigV4, local credentials) or jwt (tokens from "
        "POST /local-idp/token) (default %(default)s)",
    )
    parser.add_argument("--dispatch-pollers", type=int, default=defaults.dispatch_pollers)
    parser.add_argument("--max-receive-count", type=int, default=defaults.max_receive_count)
    parser.add_argument(
        "--task-retention-days",
        type=int,
        default=None,
        help="taskRetentionDays: finished tasks expire after this many (scaled) days; 0 keeps them "
        "(default 7)",
    )
    parser.add_argument(
        "--allow-simulation",
        choices=[toggle.value for toggle in Toggle],
        default=defaults.allow_simulation.value,
        help="allowSimulation: whether the API takes a task's test controls (simulate); production "
        "stages refuse them (default %(default)s)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the functions' own logs and metrics")
    parser.add_argument("--quiet-tasks", action="store_true", help="no per-task state-change lines")
    parser.add_argument(
        "--no-function-logs",
        action="store_true",
        help="do not write function logs and execution events to the emulator's CloudWatch Logs",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.failure_rate <= 1:
        parser.error("--failure-rate must be between 0 and 1")
    if args.webhook_signing_secret is not None:
        try:
            SigningKeys.parse(args.webhook_signing_secret)
        except SigningSecretError as exc:
            parser.error(f"WEBHOOK_SIGNING_SECRET: {exc}")
    if args.time_scale < 0:
        parser.error("--time-scale must be >= 0")
    if min(args.api_port, args.emulator_port) < 1 or args.api_port == args.emulator_port:
        parser.error("--api-port and --emulator-port must be distinct ports")
    return LocalOptions(
        host=args.host,
        api_port=args.api_port,
        emulator_port=args.emulator_port,
        time_scale=args.time_scale,
        failure_rate=args.failure_rate,
        failure_seed=args.failure_seed,
        webhook_allowed_hosts=args.webhook_allowed_hosts,
        webhook_signing_secret=args.webhook_signing_secret,
        api_auth=args.api_auth,
        dispatch_pollers=max(1, args.dispatch_pollers),
        max_receive_count=args.max_receive_count,
        task_retention_days=args.task_retention_days,
        allow_simulation=Toggle(args.allow_simulation),
        verbose=args.verbose,
        quiet_tasks=args.quiet_tasks,
        function_logs=not args.no_function_logs,
    )


def configure_logging(verbose: bool) -> None:
    """Our lines at INFO; the emulator's and the SDK's own chatter only with --verbose."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d  %(message)s", datefmt="%H:%M:%S"))
    local = logging.getLogger("ptm.local")
    local.addHandler(handler)
    local.setLevel(logging.INFO)
    local.propagate = False
    logging.basicConfig(level=logging.INFO if verbose else logging.CRITICAL)
    for chatty in ("werkzeug", "moto", "botocore", "boto3"):
        logging.getLogger(chatty).setLevel(logging.INFO if verbose else logging.CRITICAL)


def main(argv: list[str] | None = None) -> None:
    options = _options(argv)
    try:
        options.config  # noqa: B018 - the stage is checked before anything starts
    except StageConfigError as exc:
        option = _OPTIONS.get(exc.field_name, exc.field_name)
        print(f"ptm local: {option} {exc.value}: {exc.rule}", file=sys.stderr)
        sys.exit(2)
    except TaskTypeOptionError as exc:
        print(f"ptm local: {exc}", file=sys.stderr)
        sys.exit(2)
    configure_logging(options.verbose)
    stack = LocalStack(options)

    def stop(signum: int, frame: FrameType | None) -> None:
        stack.request_stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        running = stack.start()
    except (PortInUseError, TaskTypeOptionError) as exc:
        print(f"ptm local: {exc}", file=sys.stderr)
        sys.exit(2)
    print(banner(options, running, stack.signing_secret), flush=True)
    try:
        stack.wait()
    finally:
        stack.stop()
        print("local stack stopped", flush=True)
