"""What polls and ticks in the local stack: Lambda's SQS event-source mappings (one thread per
concurrent poller) and the periodic loops that stand in for EventBridge's schedules and
DynamoDB's TTL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from functions.common.mapping_switch import MappingSwitch
from local.event_source import SqsEventSource

PAUSED_POLL_SECONDS = 0.2
"""How often a poller whose event-source mapping is disabled looks at it again."""


@dataclass
class QueuePoller:
    source: SqsEventSource
    stop: threading.Event
    on_error: Callable[[str], None]
    enabled: Callable[[], bool]
    """The mapping's state, read before each poll: disabled, Lambda polls no more (ptm pause)."""
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, count: int, name: str) -> None:
        for index in range(count):
            thread = threading.Thread(target=self._run, name=f"{name}-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                if not self.enabled():
                    self.stop.wait(PAUSED_POLL_SECONDS)
                    continue
                result = self.source.poll_once(wait_seconds=1, enabled=self.enabled)
            except Exception as exc:
                if not self.stop.is_set():
                    self.on_error(f"poller for {self.source.function_name}: {type(exc).__name__}: {exc}")
                    self.stop.wait(1)
                continue
            if result.function_error:
                self.on_error(
                    f"{self.source.function_name} failed its whole batch of {result.received} "
                    f"({result.function_error}); the messages will be redelivered"
                )
            elif result.failed:
                self.on_error(
                    f"{self.source.function_name} reported {result.failed} of {result.received} "
                    "message(s) failed; they will be redelivered"
                )


def mapping_enabled(switch: MappingSwitch) -> bool:
    """Lambda polls while the mapping is not paused (the one definition: ``MappingState``)."""
    return not switch.state().paused


def every(
    interval: float,
    what: str,
    action: Callable[[], object],
    *,
    stop: threading.Event,
    warn: Callable[[str], None],
) -> threading.Thread:
    """A daemon thread that runs ``action`` every ``interval`` seconds until ``stop``; a failure
    is warned about (``what: ...``) and the loop goes on, as the next scheduled run would."""

    def loop() -> None:
        while not stop.wait(interval):
            try:
                action()
            except Exception as exc:
                warn(f"{what}: {exc}")

    thread = threading.Thread(target=loop, name=what, daemon=True)
    thread.start()
    return thread
