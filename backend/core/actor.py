"""Who is making a request: a signed-in person or a machine client holding a token."""

from dataclasses import dataclass
from typing import Literal

from backend.core.roles import Role


@dataclass(frozen=True)
class Actor:
    kind: Literal["user", "token"]
    id: int
    name: str
    role: Role

    @property
    def label(self) -> str:
        """How the actor is written into records (readings, phase changes)."""
        return self.name if self.kind == "user" else f"token:{self.name}"
