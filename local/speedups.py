"""Where moto is slower than it needs to be, and the local stack pays for it under load (a
profile of ``make bench-local``: docs/BENCHMARKS.md). Each patch keeps moto's answers as they
are; only the work behind them changes. Installed with the fidelity layer (``local/emulator.py``).

- moto's Step Functions interpreter parses a definition with ANTLR for every execution (about
  11 % of the local stack's CPU at 1,000 tasks). A definition is parsed once: its program keeps
  no per-execution state (that lives in the interpreter's ``Environment``), apart from Map and
  Parallel states' workers, so a definition that names either is parsed every time, as moto does.
- moto's SQS checks each message's retention on receive by building every attribute of its queue
  three times, each counting the queue's messages: quadratic in the backlog. Here it reads the
  retention period alone. Its ``SendMessage`` builds them too, to read one FIFO setting (13 % of
  the CPU under a backlog): while it sends, a queue's attributes leave out the three message
  counts, which it does not read.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from moto.core.utils import unix_time
from moto.sqs.models import Message, Queue, SQSBackend
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

COUNTS = frozenset(
    {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
    }
)
"""A queue's attributes that count its messages: the only costly ones."""
_sending = threading.local()

PARSED_LIMIT = 64
"""Definitions kept parsed: a stack has a few; tests create many short-lived ones."""


class _Uncounted:
    """A queue whose message counts cost nothing: moto's own ``Queue.attributes`` runs on it."""

    approximate_number_of_messages = approximate_number_of_messages_delayed = None
    approximate_number_of_messages_not_visible = None

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


_QUEUE_ATTRIBUTES = Queue.attributes
"""moto's own property, taken before ``install`` replaces it."""


def attributes_without_counts(queue: Queue) -> dict[str, Any]:
    """moto's ``Queue.attributes``, computed by moto's own code, without ``COUNTS``."""
    every = _QUEUE_ATTRIBUTES.fget(_Uncounted(queue))  # type: ignore[attr-defined]
    return {name: value for name, value in every.items() if name not in COUNTS}


def reusable(definition: str) -> bool:
    """Whether a definition's parsed program can serve every execution: no Map or Parallel state
    (a definition that merely mentions either word is parsed every time, which is only slower)."""
    return '"Map"' not in definition and '"Parallel"' not in definition


class EmulatorSpeedups:
    _originals: ClassVar[dict[str, Any]] = {}
    parsed: ClassVar[dict[str, Any]] = {}

    @classmethod
    def install(cls) -> None:
        if cls._originals:
            return
        parse = AmazonStateLanguageParser.parse
        retention = SQSBackend.is_message_valid_based_on_retention_period
        send = SQSBackend.send_message
        cls._originals = {"parse": parse, "retention": retention, "send": send}

        def parse_once(definition: str) -> Any:
            found = cls.parsed.get(definition)
            if found is None:
                found = parse(definition)
                if reusable(definition):
                    if len(cls.parsed) >= PARSED_LIMIT:
                        cls.parsed.clear()
                    cls.parsed[definition] = found
            return found

        def within_retention(backend: SQSBackend, queue_name: str, message: Message) -> bool:
            queue = backend.get_queue(queue_name)
            retention = int(queue.message_retention_period)  # type: ignore[attr-defined]
            return bool(retention + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]

        def sending(backend: SQSBackend, *args: Any, **kwargs: Any) -> Any:
            _sending.active = True
            try:
                return send(backend, *args, **kwargs)
            finally:
                _sending.active = False

        def queue_attributes(queue: Queue) -> dict[str, Any]:
            if getattr(_sending, "active", False):
                return attributes_without_counts(queue)
            return _QUEUE_ATTRIBUTES.fget(queue)  # type: ignore[attr-defined, no-any-return]

        AmazonStateLanguageParser.parse = staticmethod(parse_once)  # type: ignore[method-assign]
        SQSBackend.send_message = sending  # type: ignore[method-assign, assignment]
        Queue.attributes = property(queue_attributes)  # type: ignore[method-assign, assignment]
        SQSBackend.is_message_valid_based_on_retention_period = within_retention  # type: ignore[method-assign, assignment]

    @classmethod
    def uninstall(cls) -> None:
        if not cls._originals:
            return
        AmazonStateLanguageParser.parse = staticmethod(cls._originals["parse"])  # type: ignore[method-assign]
        SQSBackend.is_message_valid_based_on_retention_period = cls._originals["retention"]  # type: ignore[method-assign]
        SQSBackend.send_message = cls._originals["send"]  # type: ignore[method-assign]
        Queue.attributes = _QUEUE_ATTRIBUTES  # type: ignore[method-assign]
        cls._originals = {}
        cls.parsed.clear()
