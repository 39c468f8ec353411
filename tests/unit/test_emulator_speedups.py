"""The emulator's speed-ups (local/speedups.py) change the work behind moto's answers, never the
answers: a definition is parsed once unless it has Map or Parallel states, and the retention
check answers as moto's own does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from local.speedups import COUNTS, EmulatorSpeedups, attributes_without_counts

PASS = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
MAP = json.dumps(
    {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
)


PARALLEL = json.dumps(
    {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}],
                "End": True,
            }
        },
    }
)


@contextmanager
def speedups_installed(wanted: bool) -> Iterator[None]:
    """The speed-ups installed (or not) for the block, then as they were: a shared local stack
    started earlier in this worker has them installed, and keeps them."""
    was = bool(EmulatorSpeedups._originals)
    EmulatorSpeedups.uninstall()
    if wanted:
        EmulatorSpeedups.install()
    try:
        yield
    finally:
        EmulatorSpeedups.uninstall()
        if was:
            EmulatorSpeedups.install()


@pytest.fixture
def speedups() -> Iterator[None]:
    with speedups_installed(True):
        yield


@pytest.mark.usefixtures("speedups")
def test_a_definition_is_parsed_once_unless_it_has_map_or_parallel_states() -> None:
    assert AmazonStateLanguageParser.parse(PASS) is AmazonStateLanguageParser.parse(PASS)
    assert AmazonStateLanguageParser.parse(MAP) is not AmazonStateLanguageParser.parse(MAP)
    assert AmazonStateLanguageParser.parse(PARALLEL) is not AmazonStateLanguageParser.parse(PARALLEL)


def test_uninstalled_every_parse_is_new() -> None:
    with speedups_installed(True):
        pass
    with speedups_installed(False):
        assert AmazonStateLanguageParser.parse(PASS) is not AmazonStateLanguageParser.parse(PASS)


@mock_aws
def test_the_retention_check_answers_as_moto_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its answer for a message past its queue's retention and for a fresh one, before and after."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # moto's mock answers AWS's own endpoints
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    sqs.send_message(QueueUrl=url, MessageBody="new")
    backend = sqs_backends["123456789012"]["us-east-1"]
    old, new = backend.queues["q"]._messages
    old.sent_timestamp = int((time.time() - 61) * 1000)  # type: ignore[assignment]

    def answers() -> list[bool]:
        return [backend.is_message_valid_based_on_retention_period("q", m) for m in (old, new)]

    with speedups_installed(False):
        as_moto = answers()
    with speedups_installed(True):
        assert answers() == as_moto == [False, True]


@mock_aws
def test_sending_reads_a_queues_settings_without_counting_and_deduplicates_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A FIFO queue's content-based de-duplication still drops the same body sent twice; outside a
    send, a queue's attributes still count its messages."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    sqs = boto3.client("sqs", region_name="us-east-1")
    fifo = sqs.create_queue(
        QueueName="q.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    with speedups_installed(True):
        for _ in range(2):
            sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
        counted = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]

    assert counted["ApproximateNumberOfMessages"] == "1"
    backend = sqs_backends["123456789012"]["us-east-1"]
    queue = backend.queues["q.fifo"]
    assert attributes_without_counts(queue) == {k: v for k, v in queue.attributes.items() if k not in COUNTS}
