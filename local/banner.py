"""The local stack's banner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.names import LOCAL_STAGE

if TYPE_CHECKING:
    from local.options import LocalOptions
    from local.stack import Running


def banner(options: LocalOptions, running: Running, signing_secret: str) -> str:
    """What ``make local`` prints once the stack serves: where things are and what to try."""
    api, emulator, resources = running.api_endpoint, running.emulator_endpoint, running.resources
    allowed = (
        f"public https targets, and {options.webhook_allowed_hosts} (WEBHOOK_ALLOWED_HOSTS)"
        if options.webhook_allowed_hosts
        else "public https targets only (WEBHOOK_ALLOWED_HOSTS=127.0.0.1 make local: a receiver here)"
    )
    signing = (
        f"WEBHOOK_SIGNING_SECRET (secret {resources.names.signing_secret} in the emulator)"
        if options.webhook_signing_secret
        else f"{signing_secret}   (generated; set WEBHOOK_SIGNING_SECRET to keep one)"
    )
    auth = {
        "none": "none (--api-auth iam|jwt emulates API Gateway's authorization)",
        "iam": "iam: sign with AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local (ptm --auth iam)",
        "jwt": f"jwt: export TASKS_API_TOKEN=$(curl -s -X POST {api}/local-idp/token "
        "-d 'scope=tasks/read tasks/write' | jq -r .access_token)",
    }[options.api_auth]
    return f"""
Process Task Manager — local stack (stage "{LOCAL_STAGE}")
  API        {api}
  emulator   {emulator}   (moto; any AWS SDK or CLI with --endpoint-url)
  failure rate {options.failure_rate}, time scale {options.time_scale}
  webhooks   {allowed}
  signing    {signing}
  auth       {auth}

Try it:
  curl -s -X POST {api}/tasks -H 'Content-Type: application/json' -d '{{"hello": "world"}}'
  curl -s {api}/tasks/<taskId>
  curl -s -X POST {api}/tasks -d '{{"simulate": {{"failures": 5}}}}'    # exhausts retries → DLQ
  curl -s -X POST {api}/tasks -d '{{"hello": "later", "delaySeconds": 30}}'  # SCHEDULED, then runs
  curl -s -X POST {api}/tasks -d '{{"type": "webhook", "url": "https://…", "body": {{"event": 1}}}}'
  curl -s {api}/task-types                                        # or: ptm types
  TASKS_ENDPOINT={api} python -m smoke                          # or: make smoke
  open {api}/ui                                                  # tasks and their execution graphs

Inspect the emulator:
  aws --endpoint-url {emulator} dynamodb scan --table-name {resources.table}
  aws --endpoint-url {emulator} sqs get-queue-attributes --attribute-names ApproximateNumberOfMessages \\
      --queue-url {resources.dead_letter_queue_url}
  aws --endpoint-url {emulator} stepfunctions list-executions \\
      --state-machine-arn {resources.state_machine_arn}
  aws --endpoint-url {emulator} scheduler list-schedules --group-name {resources.names.schedule_group}
  (any credentials work, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local)

Ctrl-C stops everything.
"""
