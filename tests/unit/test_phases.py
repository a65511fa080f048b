"""The session phase machine: every ordered pair of phases, allowed or refused with a reason."""

import itertools

import pytest

from backend.sessions.phases import ENDED, Phase, allowed_next, transition_error

# The clinical flow (clinical.md section 1): baseline → infusing → recovery → discharged,
# or stopped early from any active phase. Written out here so the test does not echo the code.
ALLOWED = {
    (Phase.BASELINE, Phase.INFUSING),
    (Phase.BASELINE, Phase.STOPPED),
    (Phase.INFUSING, Phase.RECOVERY),
    (Phase.INFUSING, Phase.STOPPED),
    (Phase.RECOVERY, Phase.DISCHARGED),
    (Phase.RECOVERY, Phase.STOPPED),
}
PAIRS = list(itertools.product(Phase, repeat=2))


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_transition_error_allows_exactly_the_clinical_flow(current: Phase, target: Phase) -> None:
    problem = transition_error(current, target)
    if (current, target) in ALLOWED:
        assert problem is None
    elif current in ENDED:
        assert problem == (
            f"the session has ended ({current.value}); its phase can no longer change"
        )
    else:
        assert problem is not None
        allowed = ", ".join(sorted(t.value for c, t in ALLOWED if c is current))
        expected = f"cannot go from {current.value} to {target.value}; allowed next: {allowed}"
        assert problem == expected


@pytest.mark.parametrize("phase", list(Phase))
def test_allowed_next_agrees_with_transition_error(phase: Phase) -> None:
    assert allowed_next(phase) == {t for t in Phase if transition_error(phase, t) is None}


def test_only_discharged_and_stopped_end_a_session() -> None:
    assert frozenset({Phase.DISCHARGED, Phase.STOPPED}) == ENDED
