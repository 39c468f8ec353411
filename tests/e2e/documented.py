"""Every command the README and docs/*.md show a user: each line of a shell block (```bash, sh,
shell, console), and each inline code span that starts with a command (``make …``, ``ptm …``,
``curl …``, ``python -m …``, ``npx …``, ``cdk …``, ``npm …``, ``aws …``, after any ``NAME=value``
assignments). A block's line continuations and multi-line quotes join into one command; comments
go. markdown-it-py (the parser behind rich's Markdown) reads the documents, so a fence or a code
span is what a Markdown renderer shows, not what a regular expression guesses.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from markdown_it import MarkdownIt

from local.process import REPO, user_environment

SHELL_FENCES = frozenset({"bash", "sh", "shell", "console", "zsh"})
COMMAND_WORDS = frozenset({"make", "ptm", "curl", "python", "python3", "npx", "cdk", "npm", "aws"})
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")


@dataclass(frozen=True)
class Documented:
    command: str
    """The command with its whitespace collapsed: the key the lists use."""
    where: str
    """``path:line`` of its first appearance."""


MAKE_VARIABLES = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")


def shell_environment(**extra: str) -> dict[str, str]:
    """A user's shell with the project's tools on PATH (as ``make dev`` leaves them), not inside
    this run's own make."""
    environment = {key: value for key, value in user_environment().items() if key not in MAKE_VARIABLES}
    tools = f"{REPO / '.venv' / 'bin'}{os.pathsep}{REPO / 'node_modules' / '.bin'}"
    return {**environment, "PATH": f"{tools}{os.pathsep}{environment['PATH']}", "COLUMNS": "200", **extra}


def bash(command: str, environment: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


WALKTHROUGH = "tests/integration/test_task_type_walkthrough.py::test_the_walkthrough_adds_a_type_whose_template_tests_pass"  # noqa: E501
PYTHON_BLOCKS: dict[str, str] = {
    "from ptm_client import TasksApiError, TasksClient": (
        "tests/e2e/test_documented_commands.py::test_the_readme_client_example_runs_against_the_local_stack"
    ),
    "from standardwebhooks import Webhook": (
        "tests/e2e/test_webhooks.py::test_delivered_the_first_time_with_the_body_and_the_idempotency_key"
    ),
    "# functions/task_types/checksum.py": WALKTHROUGH,
    "# functions/task_types/__init__.py": WALKTHROUGH,
    "# tests/unit/test_checksum_type.py": WALKTHROUGH,
    "class PermanentTaskError(Exception):": (
        "tests/workflow/test_registered_types.py::test_the_readme_s_python_function_runs_as_a_registered_type"
    ),
}
"""Every Python block of the README and docs/, by its first line, and the test that runs it."""


def fences(markdown: str, language: str) -> list[str]:
    """The content of each fenced block of ``language``, as a Markdown renderer sees it."""
    return [
        token.content
        for token in MarkdownIt().parse(markdown)
        if token.type == "fence" and token.info.strip().split(" ")[0] == language
    ]


def python_blocks() -> dict[str, str]:
    """Each Python block of the documents, by its first line."""
    return {
        block.split("\n", 1)[0]: block
        for document in documents()
        for block in fences(document.read_text(), "python")
    }


def python_block(document: str, first_line: str) -> str:
    [block] = [b for b in fences((REPO / document).read_text(), "python") if b.startswith(first_line)]
    return block


def documents() -> list[Path]:
    return [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("**/*.md"))]


def documented_commands() -> dict[str, Documented]:
    """Each distinct command, with where it first appears."""
    found: dict[str, Documented] = {}
    for path in documents():
        for command, line in _commands(path.read_text()):
            found.setdefault(command, Documented(command, f"{path.relative_to(REPO)}:{line}"))
    return found


def _commands(markdown: str) -> Iterator[tuple[str, int]]:
    for token in MarkdownIt().parse(markdown):
        line = token.map[0] + 1 if token.map else 0
        if token.type == "fence" and token.info.strip().split(" ")[0] in SHELL_FENCES:
            for command in split_block(token.content):
                yield command, line
        elif token.type == "inline":
            for child in token.children or []:
                if child.type == "code_inline" and is_command(child.content):
                    yield normalize(child.content), line


def normalize(command: str) -> str:
    return " ".join(command.replace("\\\n", " ").split())


def is_command(span: str) -> bool:
    words = span.split()
    while words and _ASSIGNMENT.match(words[0]):
        words = words[1:]
    return len(words) >= 2 and words[0] in COMMAND_WORDS


def split_block(block: str) -> list[str]:
    """A shell block's commands: lines joined across a trailing backslash or an open quote,
    comments dropped."""
    commands, pending = [], ""
    for line in block.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        text, open_quote = _without_comments(pending)
        if open_quote or text.rstrip().endswith("\\"):
            continue
        pending = ""
        if text.strip():
            commands.append(normalize(text))
    if pending:
        raise ValueError(f"a shell block ends inside a quote or a continuation: {pending!r}")
    return commands


def _without_comments(text: str) -> tuple[str, bool]:
    """``text`` without its comments (a ``#`` that starts a word outside quotes, to the end of its
    line), and whether a quote is still open at its end."""
    kept: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote is None and char == "#" and (index == 0 or text[index - 1].isspace()):
            end = text.find("\n", index)
            index = len(text) if end == -1 else end
            continue
        if quote is None and char in "'\"":
            quote = char
        elif char == quote:
            quote = None
        elif char == "\\" and quote != "'" and index + 1 < len(text):
            kept.append(char + text[index + 1])
            index += 2
            continue
        kept.append(char)
        index += 1
    return "".join(kept), quote is not None


# What each documented command is, and the test that runs or rehearses it. A command on none of
# these lists, or on two, or an entry no document shows any more, fails
# test_every_documented_command_is_on_exactly_one_list.


class TaskId(StrEnum):
    """What ``<taskId>`` in a command stands for when it runs here."""

    ANY = "any"
    SCHEDULED = "scheduled"
    """A task that can be cancelled."""
    FAILED = "failed"
    """A task that can be redriven."""


@dataclass(frozen=True)
class Run:
    """Runs in ``make test`` as written: by test_each_command_runs_as_written, in bash, against the
    shared local stack (``localhost:8000`` is that stack's address, ``TASKS_ENDPOINT`` its URL,
    ``<taskId>`` a task of the kind given), or by the named test."""

    expect: str = ""
    """A fragment of what it prints."""
    task: TaskId | None = None
    then: str | None = None
    """A command that puts the shared stack back (``ptm resume`` after ``ptm pause``)."""
    by: str | None = None
    """``path::test``: a test that runs this very command (its text taken from here)."""


@dataclass(frozen=True)
class Rehearsal:
    """How a command that cannot run here as written is rehearsed in ``make test``: a dry run that
    test_each_dry_run_assembles_the_documented_command runs (``make -n``: the arguments the target
    assembles), and the test that rehearses the rest (the same synthesis with the same arguments,
    the saved outputs ``ptm --stage`` reads, or the command itself started, checked and stopped)."""

    why: str
    dry_run: str | None = None
    expect: str = ""
    """A fragment of the dry run's output."""
    test: str | None = None


SYNTHESIS = "tests/infra/test_synthesis.py::test_make_synth_writes_the_template_of_its_in_process_twin"
DOCUMENTED = "tests/e2e/test_documented_commands.py"
BOUNDED = "tests/e2e/test_documented_local_stack.py"
BENCHMARKS = "tests/e2e/test_benchmarks.py"
SAVED = "tests/infra/test_saved_options.py::test_two_saved_option_sets_synthesize_templates_that_differ_exactly_as_the_options_do"  # noqa: E501
CAPACITY = f"{BENCHMARKS}::test_make_capacity_names_the_binding_limit_last_and_moves_it_with_the_context"
PROD_CAPACITY_ARGS = 'CAPACITY_ARGS="--context dispatchMaxConcurrency=50 --rate 500 --gets 1"'
CAPACITY_DOCS = f"{BENCHMARKS}::test_scaling_md_tables_are_what_make_capacity_writes"

RUN_HERE: dict[str, Run] = {
    "curl -s -X POST localhost:8000/tasks -d '{\"orderId\": 42}'": Run('"status":"QUEUED"'),
    "curl -s localhost:8000/tasks/<taskId>": Run('"taskId"', TaskId.ANY),
    'curl -s -X POST localhost:8000/tasks -d \'{"simulate": {"failures": 3}}\'': Run('"status":"QUEUED"'),
    'curl -s -X POST localhost:8000/tasks -d \'{"orderId": 43, "delaySeconds": 30}\'': Run(
        '"status":"SCHEDULED"'
    ),
    "curl -s -X POST \"$TASKS_ENDPOINT/tasks\" -H 'Content-Type: application/json' "
    "-H 'Idempotency-Key: order-42' -d '{\"orderId\": 42}'": Run('"taskId"'),
    'curl -s "$TASKS_ENDPOINT/tasks/<taskId>"': Run('"status"', TaskId.ANY),
    "make smoke": Run("no violations"),
    "make capacity": Run("(binding: API stage throttle)"),
    "ptm info --capacity": Run(
        by="tests/e2e/test_cli.py::test_info_capacity_on_the_local_stack_is_its_stage_as_make_deploy_would_deploy_it"
    ),
    'make smoke SMOKE_ARGS="--scenario success --scenario retry --scenario dlq --scenario permanent"': Run(
        "no violations"
    ),
    "ptm local --help": Run("--time-scale"),
    "make openapi-stage STAGE=dev": Run("wrote cdk.out/openapi-dev.json"),
    "python -m local --help": Run("--time-scale"),
    "make dev": Run(),
    "ptm submit '{\"orderId\": 42}' --key order-42": Run(),  # a replay, once the curl ran
    "ptm submit '{\"orderId\": 43}' --delay 10m": Run("SCHEDULED"),
    'ptm submit \'{"type": "word-count", "text": "to be or not"}\'': Run("QUEUED"),
    'ptm submit \'{"orderId": 44}\' --at "$(date -u -d tomorrow +%Y-%m-%dT09:30:00Z)"': Run("SCHEDULED"),
    'ptm schedules put daily-report --expression "cron(0 9 ? * MON-FRI *)" --timezone Europe/Berlin '
    '--task \'{"report": "daily"}\'': Run("daily-report"),
    "ptm schedules show daily-report --tasks": Run("nextFirings"),
    "ptm schedules pause daily-report": Run("DISABLED"),
    "ptm schedules resume daily-report": Run("ENABLED"),
    "ptm schedules list": Run("daily-report"),
    "ptm --json schedules list --all": Run('"items"'),
    "curl -s -X PUT localhost:8000/schedules/every-5-minutes "
    '-d \'{"expression": "rate(5 minutes)", "task": {"orderId": 7}}\'': Run('"name":"every-5-minutes"'),
    'curl -s "localhost:8000/tasks?schedule=every-5-minutes"': Run('"items"'),
    "ptm schedules delete every-5-minutes": Run("deleted"),
    "ptm schedules delete daily-report": Run("deleted"),
    "ptm types": Run("webhook"),
    "ptm limits set host:hooks.example.com --concurrency 3": Run("host:hooks.example.com"),
    "ptm limits set 'key:*' --concurrency 5": Run("key:*"),
    "ptm limits set type:webhook --per-second 10 --burst 20": Run("type:webhook"),
    "ptm limits list": Run("limits"),
    "ptm limits clear type:webhook": Run("cleared"),
    "ptm status <taskId>": Run("attempts", TaskId.ANY),
    "ptm list --status FAILED --all": Run("FAILED tasks"),
    "ptm cancel <taskId>": Run("CANCELLED", TaskId.SCHEDULED),
    "ptm redrive <taskId>": Run("QUEUED", TaskId.FAILED),
    "ptm redrive --all-failed --rate 5": Run("redrove"),
    "ptm watch --once": Run("task"),
    "ptm info": Run("TasksEndpoint"),
    "ptm pause": Run("PAUSED", then="ptm resume"),
    "ptm resume": Run("dispatch runs"),
    "ptm logs process --since 30m": Run("process"),
    "ptm logs --task <taskId>": Run("api", TaskId.FAILED),
    "ptm logs": Run("api"),
    'ptm --endpoint "$TASKS_ENDPOINT" list --status FAILED': Run("FAILED tasks"),
    "make synth STAGE=dev": Run(by=SYNTHESIS),
    "make synth": Run(by=SYNTHESIS),
}

NEEDS_AWS: dict[str, Rehearsal] = {
    "make bootstrap": Rehearsal(
        "CDK bootstrap in the profile's account and region", "make -n bootstrap", "cdk --no-notices bootstrap"
    ),
    "make deploy STAGE=dev": Rehearsal(
        "deploys to the profile's account",
        "make -n deploy STAGE=dev",
        "deploy --context stage=dev --outputs-file cdk.out/outputs-dev.json",
        SYNTHESIS,
    ),
    "make deploy": Rehearsal(
        "deploys to the profile's account",
        "make -n deploy",
        "deploy --context stage=dev --outputs-file cdk.out/outputs-dev.json",
        SYNTHESIS,
    ),
    "AWS_REGION=eu-central-1 AWS_PROFILE=p make deploy STAGE=dev": Rehearsal(
        "deploys with a profile",
        "AWS_REGION=eu-central-1 AWS_PROFILE=p make -n deploy STAGE=dev",
        "deploy --context stage=dev",
        "tests/infra/test_synthesis.py::test_each_shape_synthesizes_in_each_environment_with_only_its_acknowledged_findings",
    ),
    "make diff STAGE=dev": Rehearsal(
        "compares with the deployed stack", "make -n diff STAGE=dev", "diff --context stage=dev", SYNTHESIS
    ),
    "make adopt STAGE=prod": Rehearsal(
        "imports into the account's stack after make destroy",
        "make -n adopt STAGE=prod",
        "import --context stage=prod --resource-mapping cdk.out/adopt-prod.json",
        "tests/infra/test_adopt.py::test_the_mapping_imports_each_kept_resource_by_the_name_the_template_gives_it",
    ),
    "python -m infra.adopt": Rehearsal(
        "looks the kept resources up in the account",
        "python -m infra.adopt --help",
        "--template",
        "tests/infra/test_adopt.py::test_the_mapping_imports_each_kept_resource_by_the_name_the_template_gives_it",
    ),
    "make destroy": Rehearsal("deletes the deployed stack", "make -n destroy", "destroy --context stage=dev"),
    "make destroy STAGE=dev": Rehearsal(
        "deletes the deployed stack", "make -n destroy STAGE=dev", "destroy --context stage=dev"
    ),
    "make deploy STAGE=prod": Rehearsal(
        "deploys stages/prod.json's options",
        "make -n deploy STAGE=prod",
        "deploy --context stage=prod",
        SAVED,
    ),
    "make diff": Rehearsal(
        "compares with the deployed stack", "make -n diff", "diff --context stage=dev", SAVED
    ),
    "aws ssm get-parameter --name /aws/service/powertools/python/arm64/python3.14/3.37.0": Rehearsal(
        "reads the account's Region",
        test=f"{DOCUMENTED}::test_documented_aws_calls_are_valid_requests_for_the_stack_s_resources",
    ),
    "aws dynamodb update-table --table-name ptm-prod-tasks "
    "--warm-throughput WriteUnitsPerSecond=8000,ReadUnitsPerSecond=12000": Rehearsal(
        "pre-warms a deployed table (billed)",
        test=f"{DOCUMENTED}::test_documented_aws_calls_are_valid_requests_for_the_stack_s_resources",
    ),
    "aws dynamodb update-table --table-name ptm-prod-tasks --global-secondary-index-updates "
    '\'[{"Update":{"IndexName":"byPhase","WarmThroughput":{"WriteUnitsPerSecond":8000}}}]\'': Rehearsal(
        "pre-warms a deployed index (billed)",
        test=f"{DOCUMENTED}::test_documented_aws_calls_are_valid_requests_for_the_stack_s_resources",
    ),
    "ptm --stage dev list --status FAILED": Rehearsal(
        "reads a deployment's saved outputs",
        test=f"{DOCUMENTED}::test_ptm_stage_reads_the_outputs_make_deploy_saved",
    ),
    "ptm --stage dev info": Rehearsal(
        "reads a deployment's saved outputs and its queues",
        test=f"{DOCUMENTED}::test_ptm_stage_reads_the_outputs_make_deploy_saved",
    ),
    "ptm --stage dev logs submitTask --follow": Rehearsal(
        "reads a deployment's CloudWatch Logs until Ctrl-C",
        test=f"{DOCUMENTED}::test_ptm_stage_reads_the_outputs_make_deploy_saved",
    ),
}

LONG_RUNNING: dict[str, Rehearsal] = {
    "make local": Rehearsal(
        "runs until Ctrl-C",
        "make -n local",
        "python -m local",
        f"{BOUNDED}::test_make_local_serves_the_webhook_examples_then_stops_on_ctrl_c",
    ),
    "WEBHOOK_ALLOWED_HOSTS=127.0.0.1 make local": Rehearsal(
        "runs until Ctrl-C",
        test=f"{BOUNDED}::test_make_local_serves_the_webhook_examples_then_stops_on_ctrl_c",
    ),
    'ptm submit \'{"type": "webhook", "url": "https://hooks.example.com/in", "body": {"id": 1}}\'': Rehearsal(
        "external: delivers to your receiver (hooks.example.com does not resolve)",
        test=f"{BOUNDED}::test_make_local_serves_the_webhook_examples_then_stops_on_ctrl_c",
    ),
    'curl -s -X POST "$TASKS_ENDPOINT/tasks" -H \'Content-Type: application/json\' -d \'{ "type": "webhook", '
    '"url": "https://hooks.example.com/orders", "body": {"event": "order.paid", "orderId": 42}, '
    '"headers": {"Authorization": "Bearer <token>"}, "timeoutSeconds": 10}\'': Rehearsal(
        "external: delivers to your receiver (hooks.example.com does not resolve)",
        test=f"{BOUNDED}::test_make_local_serves_the_webhook_examples_then_stops_on_ctrl_c",
    ),
    "python -m local": Rehearsal(
        "runs until Ctrl-C", test=f"{BOUNDED}::test_ptm_local_serves_then_stops_on_ctrl_c"
    ),
    "ptm local --time-scale 0.05": Rehearsal(
        "runs until Ctrl-C", test=f"{BOUNDED}::test_ptm_local_serves_then_stops_on_ctrl_c"
    ),
    "ptm local --allow-simulation off": Rehearsal(
        "runs until Ctrl-C",
        "ptm local --help",
        "--allow-simulation",
        "tests/e2e/test_stage_without_test_controls.py::test_simulate_is_a_400_naming_it_and_nothing_is_stored",
    ),
    "ptm local --api-auth iam": Rehearsal(
        "runs until Ctrl-C", test="tests/e2e/test_api_auth.py::test_iam_lets_a_signed_request_through"
    ),
    'export TASKS_API_TOKEN=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d '
    "'grant_type=client_credentials&scope=tasks/read tasks/write' "
    "https://<domain>.auth.eu-west-1.amazoncognito.com/oauth2/token | jq -r .access_token)": Rehearsal(
        "external: a Cognito user pool's token endpoint",
        test="tests/e2e/test_api_auth.py::test_the_readmes_token_example_runs_against_the_local_identity_provider",
    ),
    "ptm watch": Rehearsal("runs until Ctrl-C", test=f"{DOCUMENTED}::test_ptm_watch_redraws_until_ctrl_c"),
    "ptm logs processTask --follow": Rehearsal(
        "runs until Ctrl-C", test=f"{DOCUMENTED}::test_ptm_logs_follow_prints_new_lines_until_ctrl_c"
    ),
    "make test": Rehearsal("what CI runs (.ci/run)", "make -n test", "pytest -n 2 --dist loadgroup"),
    "make lint": Rehearsal("part of make test", "make -n lint", "ruff check ."),
    "make unit": Rehearsal("a tier of make test", "make -n unit", "pytest tests/unit"),
    "make integration": Rehearsal("a tier of make test", "make -n integration", "pytest tests/integration"),
    "make workflow": Rehearsal("a tier of make test", "make -n workflow", "pytest tests/workflow"),
    "make infra": Rehearsal("a tier of make test", "make -n infra", "pytest tests/infra -n 0"),
    "make e2e": Rehearsal("a tier of make test", "make -n e2e", "pytest tests/e2e -n 0"),
    "make fuzz": Rehearsal(
        "the long fuzz (make test runs it small)",
        "make -n fuzz",
        "FUZZ_MAX_EXAMPLES=200",
        "tests/e2e/test_fuzz.py::test_generated_requests_find_no_server_error_or_contract_violation",
    ),
    "make chaos": Rehearsal(
        "10,000 tasks (make test runs 150)",
        "make -n chaos",
        "CHAOS_TASKS=10000",
        "tests/chaos/test_chaos.py::test_every_task_is_accounted_for_under_injected_faults",
    ),
    "CHAOS_TASKS=1000 make chaos": Rehearsal(
        "1,000 tasks (make test runs 150)",
        "CHAOS_TASKS=1000 make -n chaos",
        "CHAOS_TASKS=1000",
        "tests/chaos/test_chaos.py::test_every_task_is_accounted_for_under_injected_faults",
    ),
    "make mutants": Rehearsal(
        "about 20 minutes (make test checks every mutant applies)",
        "make -n mutants",
        "python -m tests.mutants",
        "tests/unit/test_mutants_apply.py::test_every_mutant_applies_to_todays_files",
    ),
    "make openapi": Rehearsal(
        "rewrites docs/openapi.json (make test checks it is current)",
        "make -n openapi",
        "python -m infra.openapi",
        "tests/infra/test_openapi.py::test_the_checked_in_document_matches_the_code",
    ),
    "make bench": Rehearsal(
        "about 5 minutes (make test runs each benchmark small)",
        "make -n bench",
        "python -m bench.init_time",
        "tests/e2e/test_benchmarks.py::test_the_init_benchmark_prints_a_sane_row_for_each_handler",
    ),
    "make bench-init": Rehearsal(
        "11 fresh interpreters a handler (make test runs 1)",
        "make -n bench-init",
        "python -m bench.init_time --runs 11",
        "tests/e2e/test_benchmarks.py::test_the_init_benchmark_prints_a_sane_row_for_each_handler",
    ),
    "make bench-local": Rehearsal(
        "1,000 tasks (make test runs 10)",
        "make -n bench-local",
        "python -m bench.local_throughput --tasks 1000",
        "tests/e2e/test_benchmarks.py::test_the_local_stack_benchmark_ends_every_task_and_prints_a_sane_ratio",
    ),
    "python -m bench.local_throughput --tasks 1000": Rehearsal(
        "1,000 tasks (make test runs 10)",
        "python -m bench.local_throughput --help",
        "--tasks",
        "tests/e2e/test_benchmarks.py::test_the_local_stack_benchmark_ends_every_task_and_prints_a_sane_ratio",
    ),
    "make bench-retry": Rehearsal(
        "40 tasks in real time (make test runs 3)",
        "make -n bench-retry",
        "python -m bench.retry_timing --tasks 40",
        "tests/e2e/test_benchmarks.py::test_the_retry_benchmark_observes_every_wait_within_its_policy",
    ),
    "python -m bench.retry_timing --tasks 40": Rehearsal(
        "40 tasks in real time (make test runs 3)",
        "python -m bench.retry_timing --help",
        "--tasks",
        "tests/e2e/test_benchmarks.py::test_the_retry_benchmark_observes_every_wait_within_its_policy",
    ),
    "make bench-fairness": Rehearsal(
        "three runs of 50 tasks on a local stack (make test runs 5)",
        "make -n bench-fairness",
        "python -m bench.fairness --tasks 50",
        "tests/e2e/test_benchmarks.py::test_the_fairness_benchmark_prints_its_three_figures_and_both_ratios",
    ),
    "python -m bench.fairness --tasks 50": Rehearsal(
        "three runs of 50 tasks on a local stack (make test runs 5)",
        "python -m bench.fairness --help",
        "--tasks",
        "tests/e2e/test_benchmarks.py::test_the_fairness_benchmark_prints_its_three_figures_and_both_ratios",
    ),
    "make bench-schedule": Rehearsal(
        "20 tasks in real time (make test runs 3)",
        "make -n bench-schedule",
        "python -m bench.schedule_precision --tasks 20 --delay 5",
        "tests/e2e/test_scheduled.py::test_the_schedule_precision_benchmark_runs_at_a_small_size_on_this_stack",
    ),
    "make bench-schedule SCHEDULE_DELAY=<seconds>": Rehearsal(
        "real time (make test runs 3 tasks at 1 s)",
        "make -n bench-schedule SCHEDULE_DELAY=960",
        "--delay 960",
        "tests/e2e/test_scheduled.py::test_the_schedule_precision_benchmark_runs_at_a_small_size_on_this_stack",
    ),
    "python -m bench.schedule_precision --tasks 5 --delay 960": Rehearsal(
        "about 17 minutes in real time (make test runs 3 tasks at 1 s)",
        "python -m bench.schedule_precision --help",
        "--delay",
        "tests/e2e/test_scheduled.py::test_the_schedule_precision_benchmark_runs_at_a_small_size_on_this_stack",
    ),
    'make synth STAGE=prod CONTEXT="apiRateLimit=1200" CDK_OUT=/tmp/try': Rehearsal(
        "writes a scratch directory; make capacity synthesizes the same way in make test",
        'make -n synth STAGE=prod CONTEXT="apiRateLimit=1200" CDK_OUT=/tmp/try',
        "--context hypothetical=true --context 'apiRateLimit=1200' --output /tmp/try",
        CAPACITY,
    ),
    'make capacity CAPACITY_ARGS="--recipe 1k"': Rehearsal(
        "synthesizes a recipe's template; make test runs every recipe's",
        'make -n capacity CAPACITY_ARGS="--recipe 1k"',
        "python -m bench.capacity --stage dev --recipe 1k",
        CAPACITY_DOCS,
    ),
    f"make capacity STAGE=prod {PROD_CAPACITY_ARGS}": Rehearsal(
        "make test runs the same options on the default stage",
        f"make -n capacity STAGE=prod {PROD_CAPACITY_ARGS}",
        "python -m bench.capacity --stage prod --context dispatchMaxConcurrency=50 --rate 500 --gets 1",
        CAPACITY,
    ),
    'make capacity CAPACITY_ARGS="--quota lambda.concurrency=3000 --region eu-south-1"': Rehearsal(
        "make test runs the same options",
        'make -n capacity CAPACITY_ARGS="--quota lambda.concurrency=3000 --region eu-south-1"',
        "python -m bench.capacity --stage dev --quota lambda.concurrency=3000 --region eu-south-1",
        CAPACITY,
    ),
    "python -m bench.capacity": Rehearsal(
        "what make capacity runs", "python -m bench.capacity --help", "--recipe", CAPACITY
    ),
    "python -m bench.capacity --docs": Rehearsal(
        "rewrites docs/SCALING.md's tables; make test checks them",
        "python -m bench.capacity --help",
        "--docs",
        CAPACITY_DOCS,
    ),
    "make cost": Rehearsal(
        "prices the committed bench/measured.json; make test runs the same module",
        "make -n cost",
        "python -m bench.cost",
        "tests/e2e/test_benchmarks.py::test_make_cost_prices_the_saved_measurement_with_sane_figures",
    ),
    "python -m bench.measure": Rehearsal(
        "150 tasks on the local stack and 15 fresh interpreters (make test measures 10 tasks)",
        "python -m bench.measure --help",
        "--tasks",
        "tests/e2e/test_benchmarks.py::test_a_fresh_measurement_is_saved_and_priced",
    ),
}

NODE_VERSION: dict[str, str] = {
    "npm ci": "make dev",
    "npm run deploy -- --stage dev --region eu-central-1 --aws-profile p": (
        "AWS_REGION=eu-central-1 AWS_PROFILE=p make deploy STAGE=dev"
    ),
    "AWS_PROFILE=… AWS_REGION=… AWS_SDK_LOAD_CONFIG=1 TASKS_ENDPOINT=…/tasks TASKS_TABLE=… "
    "SMOKE_TASK_COUNT=… SMOKE_TIMEOUT_MS=… SMOKE_INTERVAL_MS=… npm run smoke": "make smoke",
    "npm run info -- --stage dev …": "ptm --stage dev info",
    "npm run remove -- --stage dev …": "make destroy STAGE=dev",
}
"""The Node.js version's commands, quoted in the README beside their equivalents here."""
