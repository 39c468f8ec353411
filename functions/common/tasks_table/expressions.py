"""An UpdateExpression from its clauses, so a transition adds to one without editing its text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Update:
    """``SET`` actions and ``REMOVE``d attributes (DynamoDB's UpdateExpression clauses)."""

    sets: tuple[str, ...]
    removes: tuple[str, ...] = ()

    def setting(self, *actions: str) -> Update:
        """This update with ``actions`` set first."""
        return Update((*actions, *self.sets), self.removes)

    @property
    def expression(self) -> str:
        clauses = [f"SET {', '.join(self.sets)}"] if self.sets else []
        if self.removes:
            clauses.append(f"REMOVE {', '.join(self.removes)}")
        return " ".join(clauses)
