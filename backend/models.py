"""Every table Vigil has, imported in one place for Alembic and for the model/migration check."""

from backend.alerts.models import Alert, ConditionRecord, LimitChange, LimitProfile
from backend.audit.models import AuditChainHead, AuditEvent
from backend.core.database import Base
from backend.core.lease import LeaseRow
from backend.devices.models import Device, DeviceMessage
from backend.patients.models import Patient
from backend.readings.models import Reading, latest_readings
from backend.rems.models import RemsForm
from backend.sessions.models import InfusionSession, PhaseChange
from backend.simulation.models import SimulationRun
from backend.sites.models import Chair, Room, Site
from backend.streaming.models import StreamCounter, StreamEvent
from backend.users.models import ApiToken, BrowserLogin, User

__all__ = [
    "Alert",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "BrowserLogin",
    "Chair",
    "ConditionRecord",
    "Device",
    "DeviceMessage",
    "InfusionSession",
    "LeaseRow",
    "LimitChange",
    "LimitProfile",
    "Patient",
    "PhaseChange",
    "Reading",
    "RemsForm",
    "Room",
    "SimulationRun",
    "Site",
    "StreamCounter",
    "StreamEvent",
    "User",
    "latest_readings",
]
