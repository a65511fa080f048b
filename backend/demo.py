"""The live demo ward of a first `make run`: simulated sessions in different scenarios, each
started part-way in with its history, so a newcomer sees moving charts and real alarms within
seconds of opening the ward.

They are ordinary simulation runs (see backend/simulation): the server plays them from its
first start, through the same ingest, alarm and stream path as any device, and they are marked
SIMULATED everywhere like any training session.
"""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.actor import Actor
from backend.core.roles import Role
from backend.core.timeutil import utcnow
from backend.sessions.models import InfusionSession
from backend.simulation import service
from backend.simulation.service import StartRequest
from backend.sites import rules
from backend.sites import service as sites
from backend.sites.models import Chair, Room, Site
from backend.sites.schemas import ChairCreate, RoomCreate, SiteCreate

DEMO_ACTOR = Actor("user", 0, "demo", Role.ADMIN)


DEMO_SITE = "Demo clinic"
# The demo's rooms and their chairs, so the ward's site and room filter has something to do.
DEMO_ROOMS = {
    "Main room": ("Chair 1", "Chair 2", "Chair 3", "Chair 4"),
    "Side room": ("Chair 5", "Chair 6"),
}


@dataclass(frozen=True)
class DemoChair:
    chair: str
    patient: str
    scenario: str
    start_at_min: float  # where the scenario is when the ward first opens
    seed: int
    weight_kg: float  # chosen, so the demo's doses look like a clinic's


DEMO_CHAIRS = (
    # Mid-infusion, nothing wrong: the expected gentle rise in pressure.
    DemoChair("Chair 1", "Demo A (routine)", "routine_infusion", 30, 101, 74),
    # The surge is under way: systolic past 160, then 180.
    DemoChair("Chair 2", "Demo B (surge)", "hypertensive_surge", 33, 202, 88),
    # Breathing slows at the end of dosing: SpO2 falls below 92, then 89.
    DemoChair("Chair 3", "Demo C (desaturation)", "desaturation", 37.5, 303, 95),
    # A nervous start: the heart rate is climbing past 120.
    DemoChair("Chair 4", "Demo D (tachycardia)", "tachycardia", 23, 404, 63),
    # Still in baseline; the probe falls off at 18 minutes (a technical alarm).
    DemoChair("Chair 5", "Demo E (probe off)", "sensor_off", 17.5, 505, 70),
)


def seed_demo(db: Session) -> int:
    """Start the demo ward unless the ward already has sessions; return how many started.
    The server picks the runs up when it starts (or at once, if it is already running)."""
    if db.scalar(select(func.count()).select_from(InfusionSession)):
        return 0
    chair_ids = demo_chairs(db)
    for demo in DEMO_CHAIRS:
        request = StartRequest(
            scenario_name=demo.scenario,
            scenario_text=service.scenario_text(demo.scenario),
            scenario_field="scenario",
            patient={"weight_kg": demo.weight_kg},
            chair=None,
            chair_id=chair_ids[demo.chair],
            patient_name=demo.patient,
            seed=demo.seed,
            speed=1.0,
            start_at_s=demo.start_at_min * 60,
            limit_profile_id=None,
        )
        # No process plays it yet: the first server to start claims it, plays its history up
        # to the start point, then goes on in real time.
        service.start(db, request, DEMO_ACTOR, utcnow(), owner=None)
    return len(DEMO_CHAIRS)


def demo_chairs(db: Session) -> dict[str, int]:
    """The demo clinic's site, rooms and chairs (those missing are added); chair ids by name."""
    site = db.scalar(select(Site).where(Site.name_key == rules.name_key(DEMO_SITE)))
    if site is None:
        site = sites.create_site(db, SiteCreate(name=DEMO_SITE))
    ids: dict[str, int] = {}
    for room_name, chair_names in DEMO_ROOMS.items():
        room = db.scalar(
            select(Room).where(Room.site_id == site.id, Room.name_key == rules.name_key(room_name))
        )
        if room is None:
            room = sites.create_room(db, site.id, RoomCreate(name=room_name))
        for name in chair_names:
            chair = db.scalar(
                select(Chair).where(
                    Chair.room_id == room.id, Chair.name_key == rules.name_key(name)
                )
            )
            if chair is None:
                chair = sites.create_chair(db, ChairCreate(room_id=room.id, name=name))
            ids[name] = chair.id
    return ids
