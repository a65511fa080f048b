"""A simulated session's minimum observation is judged on the patient's simulated minutes:
played at 10x, its record holds a tenth of them. A real session never is."""

from datetime import UTC, datetime, timedelta

import pytest

from backend.sessions.checklists import Facts, blocking, evaluate
from backend.sessions.models import InfusionSession
from backend.sessions.phases import Phase
from backend.sessions.service import Observations, Protocol, checklist_facts

ENDED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _observation(facts: Facts) -> tuple[bool | None, str | None]:
    (item,) = [i for i in evaluate(facts, UTC) if i.key == "min_observation"]
    return item.met, item.detail


def _discharge(record_min: float, simulated_min: float | None) -> Facts:
    return Facts(
        current=Phase.RECOVERY,
        target=Phase.DISCHARGED,
        at=ENDED + timedelta(minutes=record_min),
        drug="esketamine",
        route="intranasal",
        infusion_ended_at=ENDED,
        simulated_observation_min=simulated_min,
    )


def test_at_10x_the_simulated_minutes_count_not_the_records() -> None:
    # 125 simulated minutes played at 10x: 12.5 minutes on the record.
    assert _observation(_discharge(12.5, 125)) == (
        True,
        "125 simulated min observed (minimum 120)",
    )
    assert _observation(_discharge(12.5, None)) == (
        False,
        "12 of 120 min observed; possible from 11:00",
    )


def test_too_little_simulated_observation_is_still_refused() -> None:
    facts = _discharge(200, 100.4)  # however long the record says
    assert _observation(facts) == (False, "100 of 120 simulated min observed")
    assert "min_observation" in {i.key for i in blocking(evaluate(facts, UTC), manual=False)}


@pytest.mark.parametrize("simulated", [False, True])
def test_only_a_simulated_session_may_be_judged_on_simulated_time(simulated: bool) -> None:
    session = InfusionSession(
        id=1, drug="esketamine", route="intranasal", phase="recovery", simulated=simulated
    )
    session.phase_changes = []
    protocol = Protocol(
        gate_limit=(140, 90),
        min_observation_min=60,
        require_alertness=True,
        gate_advice=None,
        observe=lambda *_: Observations(None, None, None, None),
        simulated_observation_min=125,
    )
    if simulated:
        facts = checklist_facts(None, session, Phase.DISCHARGED, ENDED, protocol)  # type: ignore[arg-type]
        assert facts.simulated_observation_min == 125
    else:
        with pytest.raises(ValueError, match="only a simulated session"):
            checklist_facts(None, session, Phase.DISCHARGED, ENDED, protocol)  # type: ignore[arg-type]
