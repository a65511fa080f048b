"""The session phase machine, as pure data: which phase may follow which."""

from enum import StrEnum


class Phase(StrEnum):
    BASELINE = "baseline"
    INFUSING = "infusing"
    RECOVERY = "recovery"
    DISCHARGED = "discharged"
    STOPPED = "stopped"


ENDED = frozenset({Phase.DISCHARGED, Phase.STOPPED})

_NEXT: dict[Phase, frozenset[Phase]] = {
    Phase.BASELINE: frozenset({Phase.INFUSING, Phase.STOPPED}),
    Phase.INFUSING: frozenset({Phase.RECOVERY, Phase.STOPPED}),
    # Stopping from recovery records an early end (e.g. a patient leaving against advice).
    Phase.RECOVERY: frozenset({Phase.DISCHARGED, Phase.STOPPED}),
    Phase.DISCHARGED: frozenset(),
    Phase.STOPPED: frozenset(),
}


def allowed_next(phase: Phase) -> frozenset[Phase]:
    return _NEXT[phase]


def transition_error(current: Phase, target: Phase) -> str | None:
    """Why `current` → `target` is not allowed, or None when it is."""
    if target in _NEXT[current]:
        return None
    if current in ENDED:
        return f"the session has ended ({current.value}); its phase can no longer change"
    allowed = ", ".join(sorted(p.value for p in _NEXT[current]))
    return f"cannot go from {current.value} to {target.value}; allowed next: {allowed}"
