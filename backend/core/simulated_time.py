"""How long a simulated patient has been observed, in the simulator's minutes.

The sessions domain judges a discharge's minimum observation; only the simulation domain knows
how far a simulated patient has got (at 10x the record's clock holds a tenth of the patient's
time). Simulation imports sessions, so not the other way round: the app puts the simulation's
reckoning on its state (backend/main.py) and the sessions router asks for it here."""

from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy.orm import Session

# (the request's unit of work, a session's id) -> simulated minutes since dosing ended, or None
# for a session no simulator plays.
SimulatedObservation = Callable[[Session, int], float | None]


def simulated_observation_min(app: FastAPI, db: Session, session_id: int) -> float | None:
    reckon: SimulatedObservation | None = getattr(app.state, "simulated_observation", None)
    return reckon(db, session_id) if reckon is not None else None
