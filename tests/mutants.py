"""The mutation sweep (``make mutants``): weaken one rule at a time and watch a test go red.

Each mutant below changes one rule the system's correctness rests on: one conjunct or disjunct of
a transition's condition (``functions/common/tasks_table/transitions.py`` and the ASL's own conditional
writes), one error name or the attempt count of an ASL retrier, one submission rule. For each,
the sweep copies the tree, applies the change to the copy, and runs the tests listed with it;
the mutant is *killed* when they fail. Every mutant must be killed: a survivor is a rule no test
pins. The tests listed with a mutant are the ones that pin it (a mutant killed only by some
other test is listed with that test).

Usage: python -m tests.mutants [--only SUBSTRING] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TABLE = "functions/common/tasks_table/transitions.py"
ASL = "statemachine/process_task.asl.json"
SUBMISSION = "functions/usecases/submission.py"
INDEX = "functions/common/tasks_table/index.py"
CODEC = "functions/common/tasks_table/codec.py"
PAYLOADS = "functions/common/tasks_table/payloads.py"
RETENTION_MODULE = "functions/common/tasks_table/retention.py"

GUARDS = (
    "tests/integration/test_transition_guards.py",
    "tests/workflow/test_duplicates.py",
    "tests/integration/test_queue_consumers.py",
    "tests/workflow/test_no_stranded_task.py",
)
OPERATOR = ("tests/integration/test_operator_api.py",)
WORKFLOW = ("tests/workflow/test_retry_and_catch.py", "tests/workflow/test_lambda_fidelity.py")
DEFINITION = ("tests/unit/test_workflow_definition.py", "tests/unit/test_spec.py")
SUBMIT = ("tests/unit/test_submission_rules.py", "tests/integration/test_api.py")
RETENTION = ("tests/integration/test_retention.py",)
SCHEDULING = ("tests/workflow/test_scheduled_tasks.py",)


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    """Text that occurs exactly once in ``path``."""
    new: str
    tests: tuple[str, ...]

    def apply(self, text: str) -> str:
        if text.count(self.old) != 1:
            raise ValueError(f"{self.name}: {self.old!r} occurs {text.count(self.old)} times in {self.path}")
        return text.replace(self.old, self.new)


def _conditions() -> Iterator[Mutant]:
    """Each conjunct (weakening) and each disjunct (strengthening) of each transition dropped."""
    claim = '"#status = :queued OR (#status = :running AND "\n                "(executionArn = :execution OR leaseExpiresAt < :now))"'
    for name, new in (
        (
            "claim: drop 'QUEUED OR'",
            '"(#status = :running AND "\n                "(executionArn = :execution OR leaseExpiresAt < :now))"',
        ),
        (
            "claim: drop 'RUNNING AND'",
            '"#status = :queued OR ("\n                "(executionArn = :execution OR leaseExpiresAt < :now))"',
        ),
        (
            "claim: drop 'holder OR'",
            '"#status = :queued OR (#status = :running AND "\n                "(leaseExpiresAt < :now))"',
        ),
        (
            "claim: drop 'OR lease expired'",
            '"#status = :queued OR (#status = :running AND "\n                "(executionArn = :execution))"',
        ),
        ("claim: drop 'AND (holder OR expired)'", '"#status = :queued OR (#status = :running)"'),
    ):
        yield Mutant(name, TABLE, claim, new, GUARDS + WORKFLOW)
    holder = 'condition="#status = :running AND executionArn = :execution",\n            values={\n                ":error"'
    yield Mutant(
        "record_attempt_failure: drop 'RUNNING AND'",
        TABLE,
        holder,
        holder.replace("#status = :running AND ", "attribute_exists(#status) AND "),
        GUARDS,
    )
    yield Mutant(
        "record_attempt_failure: drop 'AND holder'",
        TABLE,
        holder,
        holder.replace(" AND executionArn = :execution", ""),
        GUARDS,
    )
    succeeded = 'condition="#status = :running AND executionArn = :execution",\n            names={"#result"'
    yield Mutant(
        "mark_succeeded: drop 'RUNNING AND'",
        TABLE,
        succeeded,
        succeeded.replace("#status = :running AND ", "attribute_exists(#status) AND "),
        GUARDS,
    )
    yield Mutant(
        "mark_succeeded: drop 'AND holder'",
        TABLE,
        succeeded,
        succeeded.replace(" AND executionArn = :execution", ""),
        GUARDS,
    )
    yield Mutant(
        "mark_dead_lettered: drop 'FAILED'",
        TABLE,
        'condition="#status = :failed",\n            values={":now": iso(now), ":failed"',
        'condition="attribute_exists(#status) OR #status = :failed",\n            values={":now": iso(now), ":failed"',
        GUARDS,
    )
    undeliverable = (
        'condition="#status IN (:queued, :scheduled) OR (#status = :running AND leaseExpiresAt < :now)",'
    )
    for name, new in (
        (
            "mark_undeliverable: drop 'waiting OR'",
            'condition="(#status = :running AND leaseExpiresAt < :now)",',
        ),
        (
            "mark_undeliverable: drop 'QUEUED'",
            'condition="#status IN (:scheduled, :scheduled) OR (#status = :running AND leaseExpiresAt < :now)",',
        ),
        (
            "mark_undeliverable: drop 'SCHEDULED'",
            'condition="#status IN (:queued, :queued) OR (#status = :running AND leaseExpiresAt < :now)",',
        ),
        (
            "mark_undeliverable: drop 'RUNNING AND'",
            'condition="#status IN (:queued, :scheduled) OR (leaseExpiresAt < :now)",',
        ),
        (
            "mark_undeliverable: drop 'AND lease expired'",
            'condition="#status IN (:queued, :scheduled) OR (#status = :running)",',
        ),
    ):
        yield Mutant(name, TABLE, undeliverable, new, (*GUARDS, *SCHEDULING))
    stranded = 'condition="#status = :running AND runs = :run",'
    yield Mutant("mark_stranded: drop 'RUNNING AND'", TABLE, stranded, 'condition="runs = :run",', GUARDS)
    yield Mutant("mark_stranded: drop 'AND run'", TABLE, stranded, 'condition="#status = :running",', GUARDS)
    rescue = (
        '"#status = :running AND leaseExpiresAt < :now AND "\n'
        '                "(attribute_not_exists(rescuedAt) OR rescuedAt < :notSince)"'
    )
    for name, new in (
        (
            "rescue: drop 'RUNNING AND'",
            '"leaseExpiresAt < :now AND "\n                "(attribute_not_exists(rescuedAt) OR rescuedAt < :notSince)"',
        ),
        (
            "rescue: drop 'AND lease expired'",
            '"#status = :running AND "\n                "(attribute_not_exists(rescuedAt) OR rescuedAt < :notSince)"',
        ),
        ("rescue: drop 'AND once per sweep'", '"#status = :running AND leaseExpiresAt < :now"'),
        (
            "rescue: drop 'never rescued OR'",
            '"#status = :running AND leaseExpiresAt < :now AND "\n                "(rescuedAt < :notSince)"',
        ),
        (
            "rescue: drop 'OR rescued before'",
            '"#status = :running AND leaseExpiresAt < :now AND "\n                "(attribute_not_exists(rescuedAt))"',
        ),
    ):
        yield Mutant(name, TABLE, rescue, new, GUARDS)
    cancel = 'condition="#status IN (:queued, :scheduled)",'
    for name, new in (
        ("cancel: any status", 'condition="attribute_exists(#status) OR #status IN (:queued, :scheduled)",'),
        ("cancel: drop 'SCHEDULED'", 'condition="#status IN (:queued, :queued)",'),
        ("cancel: drop 'QUEUED'", 'condition="#status IN (:scheduled, :scheduled)",'),
    ):
        yield Mutant(name, TABLE, cancel, new, OPERATOR + SCHEDULING)
    promote = 'condition="#status = :scheduled AND runAt <= :now",'
    for name, new in (
        ("promote: drop 'SCHEDULED AND'", 'condition="runAt <= :now",'),
        ("promote: drop 'AND due'", 'condition="#status = :scheduled",'),
    ):
        yield Mutant(name, TABLE, promote, new, SCHEDULING)
    for name, old in (
        (
            "promote: stays in the due index",
            'update=Update(("updatedAt = :now",), (DUE_SHARD_ATTRIBUTE,)),\n            condition="#status = :scheduled',
        ),
        (
            "cancel: stays in the due index",
            'update=Update(("updatedAt = :now",), (DUE_SHARD_ATTRIBUTE,)),\n            condition="#status IN',
        ),
    ):
        yield Mutant(name, TABLE, old, old.replace("(DUE_SHARD_ATTRIBUTE,)", "()"), SCHEDULING)
    yield Mutant(
        "stale QUEUED: drop 'AND not written since'",
        INDEX,
        '                and str(record["updatedAt"]["S"]) < before\n',
        "",
        SCHEDULING,
    )
    redrive = 'condition="#status = :failed AND (attribute_not_exists(#expiry) OR #expiry > :nowEpoch)",'
    for name, new in (
        ("redrive: drop 'FAILED AND'", 'condition="(attribute_not_exists(#expiry) OR #expiry > :nowEpoch)",'),
        ("redrive: drop 'AND not expired'", 'condition="#status = :failed",'),
        (
            "redrive: drop 'never expiring OR'",
            'condition="#status = :failed AND (#expiry > :nowEpoch)",',
        ),
        (
            "redrive: drop 'OR expiring later'",
            'condition="#status = :failed AND (attribute_not_exists(#expiry))",',
        ),
    ):
        yield Mutant(name, TABLE, redrive, new, OPERATOR + RETENTION)
    absent = '"ConditionExpression": "attribute_not_exists(taskId) OR #expiry <= :now",'
    for name, new in (
        ("create: drop 'not exists OR'", '"ConditionExpression": "#expiry <= :now",'),
        ("create: drop 'OR expired'", '"ConditionExpression": "attribute_not_exists(taskId)",'),
        (
            "create: always",
            '"ConditionExpression": "attribute_not_exists(taskId) OR attribute_exists(taskId)",',
        ),
    ):
        yield Mutant(name, CODEC, absent, new, SUBMIT + RETENTION)


def _retention() -> Iterator[Mutant]:
    """Each rule that makes an expired task gone, or keeps a payload item from expiring first."""
    for name, path, old, new in (
        (
            "get: an expired record is still found",
            TABLE,
            "if item is None or expired(item, now or utc_now()):",
            "if item is None:",
        ),
        (
            "list: expired records are listed",
            INDEX,
            'record["status"]["S"] == status.value and not expired(record, now),',
            'record["status"]["S"] == status.value,',
        ),
        (
            "refusals: an expired record refuses as itself",
            TABLE,
            "if expired(old, now or utc_now()):",
            "if False:",
        ),
        (
            "redrive: keeps the record's expiry",
            TABLE,
            '"rescuedAt",\n                        "#expiry",',
            '"rescuedAt",',
        ),
        (
            "redrive: keeps the payload item's expiry",
            TABLE,
            "        self.retention.reopen(record)\n",
            "",
        ),
        (
            "create: a reused payload item keeps the old expiry",
            TABLE,
            "        if payload_existed:",
            "        if False:",
        ),
        (
            "finish: a repeated finish moves the expiry",
            RETENTION_MODULE,
            'update.setting("#expiry = if_not_exists(#expiry, :expiry)")',
            'update.setting("#expiry = :expiry")',
        ),
        (
            "payload expiry: writes a missing payload item back",
            PAYLOADS,
            '"ConditionExpression": "attribute_exists(taskId)",\n            "ExpressionAttributeNames": {"#expiry"',
            '"ConditionExpression": "attribute_exists(taskId) OR attribute_not_exists(taskId)",\n'
            '            "ExpressionAttributeNames": {"#expiry"',
        ),
        (
            "finish: the payload item never expires",
            TABLE,
            '            self.retention.finished(response["Attributes"])',
            "            pass",
        ),
    ):
        yield Mutant(name, path, old, new, RETENTION)


def _asl_conditions() -> Iterator[Mutant]:
    mark_failed = (
        '"#status = :queued OR (#status = :running AND (executionArn = :execution OR leaseExpiresAt < :now))"'
    )
    for name, new in (
        (
            "MarkFailed: drop 'QUEUED OR'",
            '"(#status = :running AND (executionArn = :execution OR leaseExpiresAt < :now))"',
        ),
        (
            "MarkFailed: drop 'RUNNING AND'",
            '"#status = :queued OR ((executionArn = :execution OR leaseExpiresAt < :now))"',
        ),
        (
            "MarkFailed: drop 'holder OR'",
            '"#status = :queued OR (#status = :running AND (leaseExpiresAt < :now))"',
        ),
        (
            "MarkFailed: drop 'OR lease expired'",
            '"#status = :queued OR (#status = :running AND (executionArn = :execution))"',
        ),
        ("MarkFailed: drop 'AND (holder OR expired)'", '"#status = :queued OR (#status = :running)"'),
    ):
        yield Mutant(name, ASL, mark_failed, new, GUARDS + WORKFLOW)
    reopen = '"#status = :failed AND attribute_not_exists(deadLetteredAt)"'
    yield Mutant(
        "ReopenForDeadLetter: drop 'FAILED AND'",
        ASL,
        reopen,
        '"attribute_not_exists(deadLetteredAt)"',
        GUARDS,
    )
    yield Mutant(
        "ReopenForDeadLetter: drop 'AND not dead-lettered'", ASL, reopen, '"#status = :failed"', GUARDS
    )


def _retriers() -> Iterator[Mutant]:
    """Each error name dropped from its retrier, and each retrier's MaxAttempts lowered by one."""
    states = json.loads((REPO / ASL).read_text())["States"]
    tests = DEFINITION + WORKFLOW
    for state_name, state in states.items():
        for index, retrier in enumerate(state.get("Retry", [])):
            names = retrier["ErrorEquals"]
            for error in names:
                if len(names) == 1:
                    yield Mutant(
                        f"{state_name} retrier {index}: drop {error}",
                        ASL,
                        _retrier_text(names),
                        _retrier_text(["NoSuchError.Mutant"]),
                        tests,
                    )
                    continue
                kept = [name for name in names if name != error]
                yield Mutant(
                    f"{state_name} retrier {index}: drop {error}",
                    ASL,
                    _retrier_text(names),
                    _retrier_text(kept),
                    tests,
                )
            attempts = retrier["MaxAttempts"]
            yield Mutant(
                f"{state_name} retrier {index}: MaxAttempts {attempts} -> {attempts - 1}",
                ASL,
                _attempts_text(state_name, index, names, attempts),
                _attempts_text(state_name, index, names, attempts - 1),
                tests,
            )


def _errors_json(names: list[str]) -> str:
    inner = ",\n".join(f'            "{name}"' for name in names)
    return f'"ErrorEquals": [\n{inner}\n          ]'


def _retrier_text(names: list[str]) -> str:
    return _errors_json(names) + ',\n          "IntervalSeconds"'


def _attempts_text(state: str, index: int, names: list[str], attempts: int) -> str:
    definition = json.loads((REPO / ASL).read_text())["States"][state]["Retry"][index]
    return (
        _errors_json(names)
        + f',\n          "IntervalSeconds": {definition["IntervalSeconds"]},\n          "MaxAttempts": {attempts},'
    )


def _submission() -> Iterator[Mutant]:
    for name, old, new in (
        (
            "size limit dropped",
            "if len(body) > MAX_PAYLOAD_BYTES:",
            "if False:",
        ),
        ("empty body allowed", "if not body.strip():", "if False:"),
        (
            "non-objects allowed",
            "if not isinstance(document, dict):\n        raise PayloadNotObjectError",
            "if False:\n        raise PayloadNotObjectError",
        ),
        ("nesting unbounded", "if _depth(document) > MAX_NESTING_DEPTH:", "if False:"),
        (
            "JSON text not checked (infinity, lone surrogates)",
            "canonical = canonical_json(document)",
            'canonical = json.dumps(document, sort_keys=True, default=str).encode("utf-8", "surrogatepass")',
        ),
        (
            "empty key allowed",
            "if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH",
            "if not len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH",
        ),
        ("long key allowed", "if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH", "if not 1 <= len(key)"),
        ("unprintable key allowed", ' or not all(" " <= ch <= "~" for ch in key):', ":"),
        (
            "a key's other body replays",
            'if existing.get("requestHash") not in (candidate.request_hash, _legacy_hash(candidate_body)):',
            "if False:",
        ),
        (
            "a task accepted before numbers were exact conflicts with its replay",
            "(candidate.request_hash, _legacy_hash(candidate_body))",
            "(candidate.request_hash,)",
        ),
        (
            "hashes without their domain",
            "hashlib.sha256(HASH_DOMAIN + canonical)",
            "hashlib.sha256(canonical)",
        ),
        ("a replay never enqueues", "    if status is TaskStatus.QUEUED:\n", "    if False:\n"),
        (
            "a replay always enqueues",
            "    else:\n        enqueued = True\n",
            "    else:\n        enqueued = delivery.send(candidate.task_id, run, None)\n",
        ),
        (
            "a scheduled replay is not delivered again",
            "    elif status is TaskStatus.SCHEDULED:\n",
            "    elif False:\n",
        ),
        (
            "a far-ahead task rides an SQS delay",
            "if run_at is not None and uses_scheduler(run_at, self.now):",
            "if False:",
        ),
    ):
        yield Mutant(f"submission: {name}", SUBMISSION, old, new, SUBMIT + SCHEDULING)


def _dispatch_switch() -> Iterator[Mutant]:
    """While dispatch is paused, reconcile does not pile duplicates into the paused queue; it
    fails open when the switch cannot be read."""
    stranded = ("tests/workflow/test_no_stranded_task.py",)
    for name, path, old, new in (
        (
            "sweep: re-sends QUEUED tasks while paused",
            "functions/usecases/reconciliation.py",
            "    if not dispatch_paused:\n        reenqueued, refused",
            "    if True:\n        reenqueued, refused",
        ),
        (
            "reconcile: the sweep is not told",
            "functions/reconcile/handler.py",
            "        dispatch_paused=paused,\n",
            "        dispatch_paused=False,\n",
        ),
        (
            "switch: Disabled is not paused",
            "functions/common/mapping_switch.py",
            'STOPPED_STATES = frozenset({"Disabling", "Disabled"})',
            'STOPPED_STATES = frozenset({"Disabling"})',
        ),
        (
            "reconcile: an unreadable switch counts as paused",
            "functions/reconcile/handler.py",
            '        logger.warning("dispatch state unknown; sweeping as if dispatch runs", '
            'extra={"error": str(exc)})\n        return False',
            '        logger.warning("dispatch state unknown; sweeping as if dispatch runs", '
            'extra={"error": str(exc)})\n        return True',
        ),
        (
            "reconcile: a misconfigured switch counts as paused",
            "functions/reconcile/handler.py",
            "        report_misconfiguration(exc)\n        return False",
            "        report_misconfiguration(exc)\n        return True",
        ),
        (
            "switch: every stop an operator's",
            "functions/common/mapping_switch.py",
            'return not reason or reason.startswith("USER")',
            "return True",
        ),
        (
            "switch: no reason is Lambda's",
            "functions/common/mapping_switch.py",
            'return not reason or reason.startswith("USER")',
            'return reason.startswith("USER")',
        ),
        (
            "switch: a changing mapping consumed",
            "functions/common/mapping_switch.py",
            " or self.state in CHANGING_STATES",
            "",
        ),
        (
            "reconcile: Lambda's stop not alarmed",
            "functions/reconcile/handler.py",
            "    if state.stopped_by_lambda:\n",
            "    if False:\n",
        ),
    ):
        yield Mutant(
            f"dispatch switch: {name}", path, old, new, (*stranded, "tests/unit/test_ptm_dispatch.py")
        )


def _scheduling() -> Iterator[Mutant]:
    """A scheduled task starts no earlier than its runAt, and none is left behind."""
    dispatching, reconciliation = "functions/usecases/dispatching.py", "functions/usecases/reconciliation.py"
    for name, path, old, new in (
        (
            "dispatch: an early message is not held back",
            dispatching,
            "if state.run_at is not None and state.run_at > now:",
            "if False:",
        ),
        (
            "dispatch: a due task is started without its promotion",
            dispatching,
            "                self.table.promote(message.task_id, now)\n",
            "",
        ),
        (
            "reconcile: overdue at once",
            reconciliation,
            "due = table.index.scheduled_due_before(clock() - older_than, limit)",
            "due = table.index.scheduled_due_before(clock(), limit)",
        ),
        (
            "reconcile: overdue never",
            reconciliation,
            "due = table.index.scheduled_due_before(clock() - older_than, limit)",
            "due = []",
        ),
        (
            "schedule: at runAt's own minute",
            "functions/common/scheduling.py",
            ' - timedelta(minutes=1)\n    return f"at(',
            '\n    return f"at(',
        ),
    ):
        yield Mutant(f"scheduling: {name}", path, old, new, (*SCHEDULING, "tests/unit/test_scheduling.py"))


def _json_text() -> Iterator[Mutant]:
    """JSON text read strictly and numbers kept exactly (functions/common/json_text.py)."""
    for name, old, new in (
        ("a name twice in one object", "if len(value) < len(pairs):", "if False:"),
        ("a byte order mark", "if text.startswith(BYTE_ORDER_MARK):", "if False:"),
        ("not UTF-8", 'text = text.decode("utf-8")', 'text = text.decode("utf-8", errors="replace")'),
        ("numbers read as doubles", "parse_float=_decimal,", "parse_float=float,"),
        (
            "exact literals written as doubles",
            "literals.append(str(_normalized(obj) if canonical else obj))",
            "literals.append(repr(float(obj)))",
        ),
        ("equal numbers hash apart", "str(_normalized(obj) if canonical else obj)", "str(obj)"),
    ):
        yield Mutant(
            f"JSON text: {name}",
            "functions/common/json_text.py",
            old,
            new,
            (*SUBMIT, "tests/unit/test_json_text.py"),
        )


def _listing() -> Iterator[Mutant]:
    """What a listing's query and token may hold, checked before anything reaches DynamoDB."""
    operations = "functions/usecases/operations.py"
    tests = (
        "tests/integration/test_operator_api.py",
        "tests/integration/test_list_query_fuzz.py",
        "tests/unit/test_submission_rules.py",
    )
    for name, old, new in (
        ("limit: any Unicode digit", "if not _LIMIT.fullmatch(raw)", "if not raw.isdigit()"),
        ("token: any length", "if len(token) > MAX_TOKEN_CHARS:", "if False:"),
        ("token: any depth", "UnicodeDecodeError, RecursionError)", "UnicodeDecodeError)"),
        ("shard: any Unicode digits", "if not (_SHARD.fullmatch(shard)", "if not (shard.isdigit()"),
        ("cursor: any sort key", "and _CREATED_AT.fullmatch(cursor[0]) is not None", "and True"),
        ("cursor: any task id", "and _TASK_ID.fullmatch(cursor[1]) is not None", "and True"),
    ):
        yield Mutant(f"listing: {name}", operations, old, new, tests)


def _webhooks() -> Iterator[Mutant]:
    """What a webhook task may hold is what can be delivered; what it answers is the caller's only
    when a public host answered."""
    webhook, destinations = "functions/task_types/webhook.py", "functions/task_types/destinations.py"
    tests = ("tests/unit/test_task_types.py", "tests/integration/test_webhook_delivery.py")
    for name, path, old, new in (
        ("port 0 taken", destinations, "if port == 0:", "if False:"),
        (
            "a timeout of any type",
            webhook,
            "if isinstance(value, bool) or not isinstance(value, int | float | Decimal):",
            "if False:",
        ),
        (
            "the alias taken",
            webhook,
            'ConfigDict(extra="forbid", frozen=True, defer_build=True)',
            'ConfigDict(extra="forbid", frozen=True, defer_build=True, populate_by_name=True)',
        ),
        ("one header name twice", webhook, "        if twice:\n", "        if False:\n"),
        ("a value HTTP cannot send", webhook, "if any(not _sendable(ch) for ch in value):", "if False:"),
        (
            "a value beyond Latin-1",
            webhook,
            "0x20 <= code <= 0xFF and code != 0x7F",
            "0x20 <= code and code != 0x7F",
        ),
        (
            "a control character",
            webhook,
            "0x20 <= code <= 0xFF and code != 0x7F",
            "code <= 0xFF and code != 0x7F",
        ),
        ("DEL", webhook, "0x20 <= code <= 0xFF and code != 0x7F", "0x20 <= code <= 0xFF"),
        (
            "two User-Agents",
            webhook,
            '**({} if "user-agent" in given else {"User-Agent": USER_AGENT}),',
            '"User-Agent": USER_AGENT,',
        ),
        (
            "an allow-listed host's answer kept",
            webhook,
            "        if destination.allowed_by_name:\n",
            "        if False:\n",
        ),
    ):
        yield Mutant(f"webhooks: {name}", path, old, new, tests)


def _answer_time() -> Iterator[Mutant]:
    """The spec counts the api's calls in a row as the code makes them; INIT's read has a deadline."""
    yield Mutant(
        "api: one call fewer counted",
        "infra/spec.py",
        "max_sequential_calls=4,",
        "max_sequential_calls=3,",
        ("tests/integration/test_api.py",),
    )
    yield Mutant(
        "process: INIT's read without a deadline",
        "functions/process/handler.py",
        "    secret = SigningSecret(secretsmanager_client(SdkBudget.INTERACTIVE), settings.webhook_signing_secret_id)\n"
        "    try:\n        with answer_by(INIT_READ_SECONDS):",
        "    secret = SigningSecret(secretsmanager_client(SdkBudget.BACKGROUND), settings.webhook_signing_secret_id)\n"
        "    try:\n        with answer_by(600):",
        ("tests/integration/test_webhook_delivery.py",),
    )


def _causes() -> Iterator[Mutant]:
    """The record and the DLQ keep an error's message, never the runtime's stack trace."""
    yield Mutant(
        "cause: the runtime's JSON kept whole",
        ASL,
        '"StringMatches": "{\\"error*"',
        '"StringMatches": "never*"',
        ("tests/workflow/test_retry_and_catch.py",),
    )


def _fidelity() -> Iterator[Mutant]:
    """Where moto is kinder than AWS, the local world behaves like AWS (docs/contributing/FIDELITY.md)."""
    yield Mutant(
        "fidelity: moto's own EnteredTime",
        "local/fidelity.py",
        '            setattr(asl_state, "datetime", _AWS_CONTEXT_CLOCK)  # noqa: B010 - the module\'s own name\n',
        "",
        ("tests/workflow/test_retry_and_catch.py",),
    )


def _sweep_parts() -> Iterator[Mutant]:
    """Reconcile's three parts run on their own: one that fails stops none of the others."""
    tests = ("tests/workflow/test_no_stranded_task.py",)
    for name, path, old, new in (
        (
            "one failing part stops the others",
            "functions/usecases/reconciliation.py",
            "except (DependencyUnavailableError, DependencyMisconfiguredError) as exc:",
            "except ZeroDivisionError as exc:",
        ),
        ("an index being built is a misconfiguration", "functions/common/aws.py", " or backfilling\n", "\n"),
        (
            "a part's misconfiguration unreported",
            "functions/reconcile/handler.py",
            "        if isinstance(failure, DependencyMisconfiguredError):\n            report_misconfiguration(failure)",
            "        if False:\n            report_misconfiguration(failure)",
        ),
    ):
        yield Mutant(f"sweep: {name}", path, old, new, tests)


def _test_controls() -> Iterator[Mutant]:
    """A stage that takes no test controls refuses simulate at submit; production stages are such."""
    admit = 'if "simulate" in payload.model_fields_set and not environment.simulation_allowed:'
    for name, path, old, new, tests in (
        (
            "taken on every stage",
            "functions/task_types/simulated.py",
            admit,
            "if False:",
            ("tests/unit/test_task_types.py",),
        ),
        (
            "refused on every stage",
            "functions/task_types/simulated.py",
            admit,
            'if "simulate" in payload.model_fields_set:',
            ("tests/unit/test_task_types.py",),
        ),
        (
            "every simulated task refused",
            "functions/task_types/simulated.py",
            admit,
            "if not environment.simulation_allowed:",
            ("tests/unit/test_task_types.py",),
        ),
        (
            "production takes them",
            "infra/stage_config.py",
            "            return not self.is_production\n        return self.allow_simulation",
            "            return True\n        return self.allow_simulation",
            ("tests/infra/test_synthesis.py",),
        ),
    ):
        yield Mutant(f"test controls: {name}", path, old, new, tests)


def _deploy_path() -> Iterator[Mutant]:
    """Synthesis as users run it: the CLI's environment reaches the app, cdk-nag's acknowledgments
    match whatever the synthesis renders, and make synth keeps what make deploy saved."""
    synthesis = ("tests/infra/test_synthesis.py",)
    for name, path, old, new in (
        (
            "nag: the schedules' acknowledgment in the token form",
            "infra/nag.py",
            'f"AwsSolutions-IAM5[Resource::{as_finding_resource(api_role, group_schedules_arn)}]"',
            '"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/ptm-dev/*]"',
        ),
        (
            "nag: a Ref flattened as JSON",
            "infra/nag.py",
            '    "Ref": lambda ref: f"<{_flatten(ref)}>",\n',
            "",
        ),
        (
            "app: the CLI's account and region ignored",
            "infra/app.py",
            'build(app, account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))',
            "build(app, account=None, region=None)",
        ),
        (
            "scheduler role: any schedule group's",
            "infra/components/schedules.py",
            '                        "aws:SourceArn": [\n'
            "                            self.group.schedule_group_arn,\n"
            "                            self.recurring_group.schedule_group_arn,\n"
            "                        ],\n",
            "",
        ),
        (
            "scheduler role: the recurring group left out of its trust",
            "infra/components/schedules.py",
            "                            self.recurring_group.schedule_group_arn,\n",
            "",
        ),
        (
            "make synth: cdk.out emptied first",
            "Makefile",
            "\t$(CDK) synth --context stage=$(STAGE)",
            "\trm -rf $(CDK_OUT)\n\t$(CDK) synth --context stage=$(STAGE)",
        ),
    ):
        yield Mutant(
            f"deploy path: {name}", path, old, new, (*synthesis, "tests/infra/test_functions_and_iam.py")
        )
    listed = ("tests/e2e/test_documented_commands.py::test_every_documented_command_is_on_exactly_one_list",)
    yield Mutant(
        "deploy path: a README command no test runs",
        "README.md",
        "make smoke                                   # 10 tasks",
        "make smoke --no-such-option                  # 10 tasks",
        listed,
    )
    yield Mutant(
        "deploy path: a documented command dropped from the lists",
        "tests/e2e/documented.py",
        '    "ptm types": Run("webhook"),\n',
        "",
        listed,
    )


def _tracing() -> Iterator[Mutant]:
    """An execution joins the trace of the request that submitted its task: one trace a task."""
    consumers, infra = (
        ("tests/integration/test_queue_consumers.py",),
        ("tests/infra/test_functions_and_iam.py",),
    )
    for name, path, old, new, tests in (
        (
            "trace: the message's header not passed on",
            "functions/dispatch/handler.py",
            "                record.attributes.aws_trace_header,\n",
            "                None,\n",
            consumers,
        ),
        (
            "trace: only in the body, botocore's header wins",
            "functions/common/workflow.py",
            '        events.register("before-call.sfn.StartExecution", _send_trace_header, unique_id=TRACE_HEADER)\n',
            "",
            consumers,
        ),
        (
            "trace: the dispatcher samples traces of its own",
            "infra/spec.py",
            '            tracing="PassThrough",\n',
            "",
            infra,
        ),
    ):
        yield Mutant(name, path, old, new, tests)


def _smoke() -> Iterator[Mutant]:
    """The smoke run's table cross-check: the table may be ahead of the API, never behind it, and
    a status the API reported terminal never changes."""
    old = "    return not said.is_terminal and found.is_terminal"
    for name, new in (
        ("cross-check: drop 'not said terminal'", "    return found.is_terminal"),
        ("cross-check: drop 'found terminal'", "    return not said.is_terminal"),
    ):
        yield Mutant(name, "smoke/table_check.py", old, new, ("tests/unit/test_smoke_configuration.py",))


def _speedups() -> Iterator[Mutant]:
    """The emulator's speed-ups keep moto's answers: what must still be parsed per execution, the
    retention check, the counts outside a send."""
    path, tests = "local/speedups.py", ("tests/unit/test_emulator_speedups.py",)
    reusable = "    return '\"Map\"' not in definition and '\"Parallel\"' not in definition"
    for name, old, new in (
        ("speedups: drop 'no Map'", reusable, "    return '\"Parallel\"' not in definition"),
        ("speedups: drop 'no Parallel'", reusable, "    return '\"Map\"' not in definition"),
        (
            "speedups: every definition parsed once",
            "                if reusable(definition):",
            "                if True:",
        ),
        (
            "speedups: retention never checked",
            "            return bool(retention + message.sent_timestamp / 1000 > unix_time())",
            "            return True",
        ),
        (
            "speedups: counts left out outside a send too",
            '            if getattr(_sending, "active", False):',
            "            if True:",
        ),
    ):
        yield Mutant(name, path, old, new, tests)


def _settled() -> Iterator[Mutant]:
    """A task is settled once terminal, and a FAILED one once dead-lettered too."""
    old = "        return self.is_terminal and (self is not TaskStatus.FAILED or dead_lettered)"
    for name, new in (
        ("settled: drop 'terminal AND'", "        return (self is not TaskStatus.FAILED or dead_lettered)"),
        ("settled: drop 'not FAILED OR'", "        return self.is_terminal and (dead_lettered)"),
        (
            "settled: drop 'OR dead-lettered'",
            "        return self.is_terminal and (self is not TaskStatus.FAILED)",
        ),
    ):
        yield Mutant(
            name, "functions/common/task_status.py", old, new, ("tests/unit/test_models_and_config.py",)
        )


def _capacity() -> Iterator[Mutant]:
    """make capacity's rules: what an invocation holds, what is reserved, which rows may set the
    ceiling, how a quota is known in a Region, where a write lands, what the account says."""
    path, tests = "bench/capacity.py", ("tests/unit/test_capacity.py",)
    binding = '    return [row for row in rows if row.steady and row.ceiling is not None and row.kind != "unconfirmed"]'
    confirmed = '        return bool(entry["confirmed"]) and not (outside and "elsewhere" not in entry)'
    for name, old, new in (
        (
            "capacity: an invocation holds only its duration",
            "max(demand.seconds[f], per_env) for f",
            "demand.seconds[f] for f",
        ),
        (
            "capacity: reservations not taken off",
            '    concurrency = q("lambda.concurrency") - sum(d.reserved.values())',
            '    concurrency = q("lambda.concurrency")',
        ),
        ("capacity: ceiling drops 'steady'", binding, binding.replace("row.steady and ", "")),
        ("capacity: ceiling drops 'computed'", binding, binding.replace(" and row.ceiling is not None", "")),
        (
            "capacity: ceiling drops 'confirmed'",
            binding,
            binding.replace(' and row.kind != "unconfirmed"', ""),
        ),
        (
            "capacity: outages sorted among the rest",
            "key=lambda row: (not row.steady, ",
            "key=lambda row: (False, ",
        ),
        (
            "capacity: drop 'confirmed AND'",
            confirmed,
            '        return not (outside and "elsewhere" not in entry)',
        ),
        ("capacity: drop 'AND NOT outside'", confirmed, '        return bool(entry["confirmed"])'),
        (
            "capacity: drop 'outside AND no other figure'",
            confirmed,
            '        return bool(entry["confirmed"]) and not (outside)',
        ),
        (
            "capacity: elsewhere applies in the primary Regions too",
            '        if "elsewhere" in entry and self.region not in entry["primary_regions"]:',
            '        if "elsewhere" in entry:',
        ),
    ):
        yield Mutant(name, path, old, new, tests)
    yield Mutant(
        "capacity: MarkFailed's index move billed to the table",
        "bench/cost.py",
        "            TABLE: mix.exhausted * 2 * failed,\n            BY_PHASE: mix.exhausted * 2,",
        "            TABLE: mix.exhausted * (2 * failed + 2),",
        tests,
    )
    account = ("tests/integration/test_ptm_capacity.py",)
    yield Mutant(
        "capacity: the index's warm writes ignored",
        "ptm/capacity.py",
        "float(min(writes))",
        "float(writes[0])",
        account,
    )
    yield Mutant(
        "capacity: the stack's own reservation not added back",
        "ptm/capacity.py",
        '(limit["UnreservedConcurrentExecutions"] + reserved)',
        '(limit["UnreservedConcurrentExecutions"])',
        account,
    )


def _saved_options() -> Iterator[Mutant]:
    """What is deployed is what is saved; production is declared (infra/stage_options.py)."""
    path, tests = "infra/stage_options.py", ("tests/unit/test_stage_options.py",)
    words = '_PRODUCTION_WORD = re.compile(r"(prod|prd)\\d*|production|live")'
    for name, old, new in (
        ("stage options: 'prd' reads as not production", words, words.replace("(prod|prd)", "(prod)")),
        ("stage options: 'live' reads as not production", words, words.replace("|live", "")),
        ("stage options: 'prod2' reads as not production", words, words.replace("\\d*", "")),
        (
            "stage options: a file need not exist",
            "    if saved is None and not hypothetical:",
            "    if False:",
        ),
        (
            "stage options: a hypothetical synthesis needs a file",
            "    if saved is None and not hypothetical:",
            "    if saved is None:",
        ),
        (
            "stage options: overrides taken silently",
            "    if differing and not hypothetical:",
            "    if False:",
        ),
        (
            "stage options: hypothetical overrides refused too",
            "    if differing and not hypothetical:",
            "    if differing:",
        ),
        (
            "stage options: a production name need not declare it",
            "    if looks_like_production(stage) and not config.production:",
            "    if False:",
        ),
        (
            "stage options: a declared production name refused too",
            "    if looks_like_production(stage) and not config.production:",
            "    if looks_like_production(stage):",
        ),
        (
            "stage options: production need not be stated",
            "    if not isinstance(options.get(PRODUCTION), bool):",
            "    if False:",
        ),
        ("stage options: unknown keys taken", "    if unknown:", "    if False:"),
    ):
        yield Mutant(name, path, old, new, tests)
    yield Mutant(
        "stage options: production read from the name again",
        "infra/stage_config.py",
        "        return self.production",
        '        return self.stage in ("prod", "production")',
        tests,
    )


def _client_library() -> Iterator[Mutant]:
    """ptm_client: a retry is the same request; what is retried; when a 409 counts as done."""
    path, tests = "client/ptm_client/__init__.py", ("tests/unit/test_client_library.py",)
    for name, old, new in (
        (
            "client: a fresh key for each retry",
            "        return self._task(lambda: self.api.submit(payload, idempotency_key))",
            "        return self._task(lambda: self.api.submit(payload, key or str(uuid.uuid4())))",
        ),
        (
            "client: a 503 not retried",
            "RETRIED_STATUSES = frozenset({429, 503})",
            "RETRIED_STATUSES = frozenset({429})",
        ),
        (
            "client: a 429 not retried",
            "RETRIED_STATUSES = frozenset({429, 503})",
            "RETRIED_STATUSES = frozenset({503})",
        ),
        (
            "client: every 409 counts as done",
            '            if refusal.details.get("currentStatus") in done:',
            "            if True:",
        ),
        (
            "client: an unreachable endpoint not retried",
            "                if attempt == self.retries:\n                    raise",
            "                raise",
        ),
    ):
        yield Mutant(name, path, old, new, tests)


def _adopt() -> Iterator[Mutant]:
    """What a production stage keeps can join its stack again."""
    tests = ("tests/infra/test_adopt.py",)
    yield Mutant(
        "adopt: a kept queue looked up by nothing",
        "infra/adopt.py",
        '            mapping[key] = {"QueueUrl": lookups.queue_url(properties["QueueName"])}',
        '            mapping[key] = {"QueueUrl": properties["QueueName"]}',
        tests,
    )
    yield Mutant(
        "adopt: the scheduler role unnamed",
        "infra/components/schedules.py",
        "            role_name=config.names.scheduler_role,\n",
        "",
        tests,
    )


def _recurring() -> Iterator[Mutant]:
    """Recurring schedules: one task per firing, overlap skip exact, Scheduler's calendar rules."""
    recurring, table = "functions/common/recurring.py", "functions/common/schedules_table.py"
    usecase, schedules = "functions/usecases/recurring.py", "functions/common/task_schedules.py"
    firing = "functions/usecases/firing.py"
    workflow = ("tests/workflow/test_recurring_schedules.py",)
    unit = ("tests/unit/test_recurring.py",)
    claim = "attribute_exists(#key) AND (attribute_not_exists(lastScheduledTime) OR lastScheduledTime < :t)"
    for name, path, old, new, tests in (
        (
            "claim: on a deleted schedule",
            table,
            claim,
            claim.replace("attribute_exists(#key) AND ", ""),
            workflow,
        ),
        ("claim: an earlier firing over a later one", table, claim, claim.replace("< :t", "<> :t"), workflow),
        ("claim: this very firing twice", table, claim, claim.replace("< :t", "<= :t"), workflow),
        (
            "claim: skip ignores the last task",
            table,
            "        if exclusive:\n",
            "        if False:\n",
            workflow,
        ),
        (
            "claim: skip's first firing ignores a last task",
            table,
            'condition += " AND attribute_not_exists(lastTaskId)"',
            'condition += " AND attribute_exists(#key)"',
            workflow,
        ),
        (
            "a paused schedule's firing submits",
            firing,
            '    if schedule.state != ScheduleState.ENABLED:\n        return "the schedule is disabled"',
            '    if False:\n        return "the schedule is disabled"',
            workflow,
        ),
        (
            "its own claimed firing skipped",
            firing,
            "    if last == when:\n        return SUBMIT\n",
            "",
            workflow,
        ),
        (
            "skip lets a late firing run",
            firing,
            'return f"a later firing ({last}) ran first" if exclusive else SUBMIT',
            "return SUBMIT",
            workflow,
        ),
        (
            "overlap: a RUNNING task ignored",
            firing,
            "TaskStatus.QUEUED, TaskStatus.RUNNING})",
            "TaskStatus.QUEUED})",
            workflow,
        ),
        (
            "overlap: a QUEUED task ignored",
            firing,
            "TaskStatus.QUEUED, TaskStatus.RUNNING})",
            "TaskStatus.RUNNING})",
            workflow,
        ),
        (
            "overlap: never checked",
            firing,
            "if state is not None and state.status in UNFINISHED:",
            "if False:",
            workflow,
        ),
        (
            "a task with runAt or delaySeconds",
            usecase,
            "timed = [field for field in RESERVED_FIELDS if field in raw]",
            "timed = []",
            workflow,
        ),
        (
            "delete leaves Scheduler's schedule",
            usecase,
            "existed_in_scheduler = scheduler.delete(name)",
            "existed_in_scheduler = False",
            workflow,
        ),
        (
            "an unchanged PUT updates Scheduler",
            schedules,
            "if _same(current, request):",
            "if False:",
            workflow,
        ),
        (
            "DST: a skipped local time fires",
            recurring,
            "continue  # clocks went forward",
            "pass  # clocks went forward",
            unit,
        ),
        (
            "DST: a repeated hour fires twice",
            recurring,
            "if moment < after or (moment == after and not inclusive):",
            "if moment == after and not inclusive:",
            unit,
        ),
        (
            "a firing's time to the microsecond",
            recurring,
            "return moment.astimezone(UTC).replace(microsecond=0).isoformat()",
            "return moment.astimezone(UTC).isoformat()",
            unit,
        ),
        (
            "a firing's id without its time",
            recurring,
            'f"{name}\\n{scheduled_time_text(moment)}"',
            'f"{name}"',
            unit,
        ),
        ("a rate of 0", recurring, "        if value < 1:", "        if False:", unit),
        ("names of 65 characters", recurring, "NAME_MAX_LENGTH = 64", "NAME_MAX_LENGTH = 65", workflow),
        (
            "local: an unreachable target's firing dropped at once",
            "local/recurring.py",
            "if not dropped:\n",
            "if False:\n",
            workflow,
        ),
        (
            "local: a disabled schedule fires",
            "local/recurring.py",
            'if schedule.state == "ENABLED" and (end is None',
            "if (end is None",
            workflow,
        ),
    ):
        yield Mutant(f"recurring: {name}", path, old, new, tests)


def _synth_cache() -> Iterator[Mutant]:
    """A cached template is reused only for the very inputs that made it."""
    tests = ("tests/unit/test_synth_cache.py",)
    for name, old, new in (
        ("the context left out", '"context": dict(context or {}),', '"context": {},'),
        (
            "the environment left out",
            '"environment": {name: os.environ.get(name) for name in ENVIRONMENT},',
            '"environment": {},',
        ),
        (
            "new files left out",
            '"--cached", "--others", "--exclude-standard"',
            '"--cached", "--exclude-standard"',
        ),
        ("the options' directory left out", "    if stages_dir:\n", "    if False:\n"),
        (
            "a failed synthesis cached",
            "    if result.returncode != 0:\n        raise SynthError",
            "    if False:\n        raise SynthError",
        ),
    ):
        yield Mutant(f"synth cache: {name}", "infra/synth.py", old, new, tests)


def _registered_types() -> Iterator[Mutant]:
    """Registered task types: the generated branch's routing, retriers, timeout and lease; the
    claim and result rules; the bound; the type reaching the execution."""
    generator, usecase = "infra/generated_workflow.py", "functions/usecases/processing.py"
    options = "infra/task_type_options.py"
    workflow = ("tests/workflow/test_registered_types.py",)
    unit = ("tests/unit/test_registered_types.py",)
    for name, path, old, new, tests in (
        (
            "route: a task without registeredType reaches the Choice's comparison",
            generator,
            '                        {"Variable": f"$.{REGISTERED_TYPE_KEY}", "IsPresent": True},\n',
            "",
            (*workflow, *unit),
        ),
        (
            "route: on the function, not the type's name",
            generator,
            '"StringEquals": registration.name}',
            '"StringEquals": registration.function}',
            workflow,
        ),
        (
            "run: a permanent error retried once",
            generator,
            '*registration.permanent_errors], "MaxAttempts": 0}',
            '*registration.permanent_errors], "MaxAttempts": 1}',
            workflow,
        ),
        (
            "run: the listed permanent errors ignored",
            generator,
            "[PERMANENT_ERROR, *registration.permanent_errors]",
            "[PERMANENT_ERROR]",
            workflow,
        ),
        (
            "run: Lambda service errors counted as the type's attempts",
            generator,
            '                "MaxAttempts": retry.service_error_retries,\n',
            '                "MaxAttempts": 0,\n',
            workflow,
        ),
        (
            "run: the state's timeout without INIT",
            generator,
            '"TimeoutSeconds": registration.timeout_seconds + init_seconds,',
            '"TimeoutSeconds": registration.timeout_seconds,',
            (*workflow, *unit),
        ),
        (
            "claim: the lease without the result's state",
            generator,
            "lease = math.ceil(state_worst_case(run_state) + state_worst_case(complete_state))",
            "lease = math.ceil(state_worst_case(run_state))",
            unit,
        ),
        (
            "claim: a refusal without the keys the state selects",
            usecase,
            '"run": 0, "attempt": 0, "payload": {}}',
            "}",
            workflow,
        ),
        (
            "result: a JSON list stored as a result",
            usecase,
            "    if not isinstance(result, dict):\n",
            "    if False:\n",
            workflow,
        ),
        (
            "result: larger than the record keeps",
            usecase,
            "    if size > RESULT_MAX_BYTES:\n",
            "    if False:\n",
            workflow,
        ),
        (
            "result: the retries before it not counted",
            TABLE,
            'counted = ("attempts = attempts + :retries",) if retries else ()',
            "counted = ()",
            workflow,
        ),
        (
            "bound: a type at exactly 290 s refused",
            options,
            "if worst.total > timings.express_budget_seconds",
            "if worst.total >= timings.express_budget_seconds",
            unit,
        ),
        (
            "bound: not checked",
            options,
            "            if worst.total > timings.express_budget_seconds:\n",
            "            if False:\n",
            unit,
        ),
        (
            "option: a built-in type's name registered",
            options,
            "    if name in {task_type.name for task_type in TASK_TYPES.built_in()}:\n",
            "    if False:\n",
            unit,
        ),
        (
            "dispatch: the execution started without the type",
            "functions/usecases/dispatching.py",
            "state.registered_type if state else None",
            "None",
            workflow,
        ),
        (
            "submit: the record without its registered type",
            SUBMISSION,
            "registered = None if TASK_TYPES.is_built_in(task_type) else task_type.name",
            "registered = None",
            workflow,
        ),
        (
            "process options: the bound not checked",
            "infra/stage_config.py",
            "        if worst > TIMINGS.express_budget_seconds:\n",
            "        if False:\n",
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: a stage exactly at the bound refused",
            "infra/stage_config.py",
            "        if worst > TIMINGS.express_budget_seconds:\n",
            "        if worst >= TIMINGS.express_budget_seconds:\n",
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: a timeout shorter than the longest webhook",
            "infra/stage_config.py",
            "            seconds >= _PROCESS_MIN_SECONDS and seconds",
            "            True and seconds",
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: an attempt that outlasts the claim's lease",
            "infra/stage_config.py",
            "and seconds + TIMINGS.init_limit_seconds < TIMINGS.lease_seconds",
            "and True",
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: memory below Lambda's",
            "infra/stage_config.py",
            "lambda mb: 128 <= mb <= 10240",
            "lambda mb: mb <= 10240",
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: memory above Lambda's",
            "infra/stage_config.py",
            "lambda mb: 128 <= mb <= 10240",
            "lambda mb: 128 <= mb",
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: negative retries",
            "infra/stage_config.py",
            '"process_retries", lambda retries: 0 <= retries <= 10',
            '"process_retries", lambda retries: retries <= 10',
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: retries past 10",
            "infra/stage_config.py",
            '"process_retries", lambda retries: 0 <= retries <= 10',
            '"process_retries", lambda retries: 0 <= retries',
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: negative transient retries",
            "infra/stage_config.py",
            '"process_transient_retries", lambda retries: 0 <= retries <= 10',
            '"process_transient_retries", lambda retries: retries <= 10',
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: transient retries past 10",
            "infra/stage_config.py",
            '"process_transient_retries", lambda retries: 0 <= retries <= 10',
            '"process_transient_retries", lambda retries: 0 <= retries',
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: the retries left as the file's",
            generator,
            '            retrier["MaxAttempts"] = process.retries\n',
            "            pass\n",
            ("tests/workflow/test_process_options.py",),
        ),
        (
            "process options: the transient retries left as the file's",
            generator,
            '            retrier["MaxAttempts"] = process.transient_retries\n',
            "            pass\n",
            ("tests/unit/test_process_options.py",),
        ),
        (
            "process options: the state's timeout left as the file's",
            generator,
            '    state["TimeoutSeconds"] = process.timeout_seconds + init_seconds\n',
            "",
            ("tests/workflow/test_process_options.py",),
        ),
        (
            "process options: the function deployed with the spec's timeout and memory",
            "infra/stage_config.py",
            "        if function is Function.PROCESS:\n",
            "        if False:\n",
            ("tests/workflow/test_process_options.py", "tests/infra/test_registered_types.py"),
        ),
        (
            "local: a type without a localHandler provisioned",
            "local/provision.py",
            "        if registration.name not in task_types.local_handlers:\n",
            "        if False:\n",
            unit,
        ),
        (
            "make synth: CONTEXT's pairs unquoted (a JSON option loses its quotes)",
            "Makefile",
            "--context '$(pair)'",
            "--context $(pair)",
            ("tests/infra/test_registered_types.py",),
        ),
        (
            "security: execution data logged on a stage with registered types",
            "infra/stage_config.py",
            "not self.is_production and not self.task_types",
            "not self.is_production",
            ("tests/infra/test_registered_types.py",),
        ),
    ):
        yield Mutant(f"registered types: {name}", path, old, new, tests)


def _flow_control() -> Iterator[Mutant]:
    """The limiter: each condition of an admission, of a limit's validity, of the slots' items
    and of who gives a slot back, weakened on its own."""
    rule = "functions/common/flow_control.py"
    table = "functions/common/limits_table.py"
    unit, limits = ("tests/unit/test_flow_control.py",), ("tests/integration/test_limits_table.py",)
    flow = ("tests/workflow/test_flow_control.py",)
    full = "    if limit.max_concurrency is not None and len(live) >= limit.max_concurrency:"
    coherent = "        if self.max_concurrency is None and self.max_per_second is None:"
    burst = "        if self.burst is not None and self.max_per_second is None:"
    governs = "    if own is not None or not subject.startswith(KEY_PREFIX):"
    recheck = "max(float(MIN_RECHECK_SECONDS), expected_seconds, waited_seconds * RECHECK_GROWTH)"
    room = '"(attribute_exists(limits.#key) OR size(limits) < :max)"'
    discarded = "        give_back_if_over(limits, execution, refused)\n        return _skipped(task_id"
    recorded = "    give_back_slots(limits, task_id, execution)\n    return ProcessOutcome("
    for name, path, old, new, tests in (
        ("an expired lease still a slot", rule, "if until > now}", "if True}", unit),
        ("a lease alive at its instant of expiry", rule, "if until > now}", "if until >= now}", unit),
        ("a duplicate start takes a second slot", rule, "    if holder in live:", "    if False:", unit),
        (
            "an expired holder re-admitted",
            rule,
            "    if holder in live:",
            "    if holder in state.holders:",
            unit,
        ),
        (
            "drop 'has a concurrency limit'",
            rule,
            full,
            "    if len(live) >= (limit.max_concurrency or 0):",
            unit,
        ),
        ("drop 'slots full'", rule, full, "    if limit.max_concurrency is not None and False:", unit),
        ("one slot too many", rule, full, full.replace(">=", ">"), unit),
        ("no token needed", rule, "        if tokens < 1:", "        if False:", unit),
        ("the bucket not capped at its burst", rule, "tokens = min(size, held + ", "tokens = (held + ", unit),
        (
            "a rate-only limit holds a slot",
            rule,
            "holders = {**live, holder: lease_until} if limit.max_concurrency is not None else live",
            "holders = {**live, holder: lease_until}",
            unit,
        ),
        (
            "drop 'no concurrency' from 'give one'",
            rule,
            coherent,
            "        if self.max_per_second is None:",
            unit,
        ),
        ("drop 'no rate' from 'give one'", rule, coherent, "        if self.max_concurrency is None:", unit),
        (
            "drop 'a burst' from 'burst needs a rate'",
            rule,
            burst,
            "        if self.max_per_second is None:",
            unit,
        ),
        ("drop 'no rate' from 'burst needs a rate'", rule, burst, "        if self.burst is not None:", unit),
        (
            "no rate ceiling",
            rule,
            "            if self.max_per_second > ceiling:",
            "            if False:",
            unit,
        ),
        (
            "drop 'its own limit' from governing",
            rule,
            governs,
            "    if not subject.startswith(KEY_PREFIX):",
            unit,
        ),
        ("drop 'not a caller key' from governing", rule, governs, "    if own is not None:", unit),
        (
            "a recheck ignores the expected wait",
            rule,
            recheck,
            recheck.replace(" expected_seconds,", ""),
            unit,
        ),
        (
            "a recheck does not grow",
            rule,
            recheck,
            recheck.replace(", waited_seconds * RECHECK_GROWTH", ""),
            unit,
        ),
        ("a write over any version", table, '"version = :read"', '"attribute_exists(limitKey)"', limits),
        (
            "a new subject created twice",
            table,
            '"ConditionExpression": "attribute_not_exists(limitKey)",\n        }',
            '"ConditionExpression": "attribute_exists(version) OR attribute_not_exists(version)",\n        }',
            limits,
        ),
        (
            "a release needs no holder",
            table,
            '"attribute_exists(holders.#holder)"',
            '"attribute_exists(limitKey) OR attribute_not_exists(limitKey)"',
            limits,
        ),
        ("drop 'limits exist'", table, '"attribute_exists(limits) AND "', '""', limits),
        ("drop 'a replacement'", table, room, '"(size(limits) < :max)"', limits),
        ("drop 'room for one more'", table, room, '"(attribute_exists(limits.#key))"', limits),
        (
            "a duplicate acquire writes",
            "functions/usecases/limiting.py",
            "            if decision.changed:",
            "            if True:",
            limits,
        ),
        (
            "a rate-only subject handed back as a slot",
            "functions/usecases/limiting.py",
            "for subject, limit in governed.items() if limit.max_concurrency is not None)",
            "for subject, limit in governed.items())",
            limits,
        ),
        (
            "waiting never ends in failure",
            "functions/usecases/dispatching.py",
            "        if waited > limiter.max_wait_seconds:",
            "        if False:",
            flow,
        ),
        (
            "waitingFor rewritten by every deferral",
            "functions/common/tasks_table/transitions.py",
            'condition = "#status = :queued AND attribute_not_exists(#waiting)"',
            'condition = "#status = :queued"',
            flow,
        ),
        (
            "a discarded result gives the slot back",
            "functions/usecases/processing.py",
            discarded,
            "        give_back_slots(limits, task_id, execution)\n        return _skipped(task_id",
            flow,
        ),
        (
            "a result retried after a failed release keeps the slot",
            "functions/usecases/processing.py",
            discarded,
            "        return _skipped(task_id",
            flow,
        ),
        (
            "a success keeps its slot",
            "functions/usecases/processing.py",
            recorded,
            "    return ProcessOutcome(",
            flow,
        ),
        (
            "reconcile copies a waiting task's message",
            "functions/common/tasks_table/index.py",
            "                and WAITING_FOR_ATTRIBUTE not in record\n",
            "",
            flow,
        ),
        (
            "a stranded run keeps its slot",
            "functions/usecases/dead_letters.py",
            "            _give_back_run(limits, table, message.task_id, message.run)\n",
            "",
            flow,
        ),
        (
            "a late start for a finished run keeps its slot",
            "functions/usecases/processing.py",
            "        give_back_if_over(limits, request.execution, refused)\n        return _skipped(",
            "        return _skipped(",
            flow,
        ),
        (
            "drop 'finished' from 'the run is over'",
            "functions/usecases/processing.py",
            "TaskStatus(str(status)).is_terminal or ",
            "",
            flow,
        ),
        (
            "drop 'a later run' from 'the run is over'",
            "functions/usecases/processing.py",
            ' or int(found.get("runs", 1)) > execution.run',
            "",
            flow,
        ),
        (
            "every refused claim gives the slot back",
            "functions/usecases/processing.py",
            "    if over:\n        give_back_slots(",
            "    if True:\n        give_back_slots(",
            flow,
        ),
        (
            "a failed execution keeps its slot",
            "functions/usecases/dead_letters.py",
            "                give_back_slots(limits, message.task_id, message.execution)\n",
            "",
            flow,
        ),
    ):
        yield Mutant(f"flow control: {name}", path, old, new, tests)


def mutants() -> list[Mutant]:
    return [
        *_flow_control(),
        *_adopt(),
        *_client_library(),
        *_saved_options(),
        *_capacity(),
        *_settled(),
        *_speedups(),
        *_tracing(),
        *_smoke(),
        *_conditions(),
        *_retention(),
        *_asl_conditions(),
        *_retriers(),
        *_submission(),
        *_dispatch_switch(),
        *_scheduling(),
        *_deploy_path(),
        *_json_text(),
        *_listing(),
        *_webhooks(),
        *_test_controls(),
        *_sweep_parts(),
        *_answer_time(),
        *_fidelity(),
        *_causes(),
        *_recurring(),
        *_synth_cache(),
        *_registered_types(),
    ]


def copy_tree(destination: Path) -> None:
    """The working tree as git sees it (tracked and new files), without the venv or node_modules."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        source = REPO / raw.decode()
        if source.is_file():
            target = destination / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / "node_modules").symlink_to(REPO / "node_modules")


def _run(mutant: Mutant, tree: Path) -> tuple[bool, float]:
    """(killed, seconds): apply, run the mutant's tests in ``tree``, restore."""
    path = tree / mutant.path
    original = path.read_text()
    path.write_text(mutant.apply(original))
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-n", "0", *mutant.tests],
            cwd=tree,
            # the copy's client library, not the one the venv installed (editable, from the repo)
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tree / "client")},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        path.write_text(original)
    return result.returncode != 0, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="", help="run the mutants whose name contains this")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    arguments = parser.parse_args()
    selected = [mutant for mutant in mutants() if arguments.only in mutant.name]
    for mutant in selected:  # every mutant applies to today's files, or the sweep is stale
        mutant.apply((REPO / mutant.path).read_text())
    if arguments.list:
        for mutant in selected:
            print(f"{mutant.name}  ({mutant.path}; {' '.join(mutant.tests)})")
        return
    with tempfile.TemporaryDirectory(prefix="ptm-mutants-") as scratch:
        trees = [Path(scratch) / f"tree-{index}" for index in range(max(1, arguments.workers))]
        for tree in trees:
            copy_tree(tree)
        free = list(trees)

        def run(mutant: Mutant) -> tuple[Mutant, bool, float]:
            tree = free.pop()
            try:
                killed, seconds = _run(mutant, tree)
            finally:
                free.append(tree)
            print(f"{'killed  ' if killed else 'SURVIVED'}  {mutant.name}  ({seconds:.0f} s)", flush=True)
            return mutant, killed, seconds

        with ThreadPoolExecutor(max_workers=len(trees)) as pool:
            results = list(pool.map(run, selected))
    survivors = [mutant.name for mutant, killed, _ in results if not killed]
    print(f"{len(results) - len(survivors)} killed, {len(survivors)} survived of {len(results)} mutants")
    if survivors:
        sys.exit(1)


if __name__ == "__main__":
    main()
