"""The four roles and what each is for."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # accounts, tokens, clinic configuration
    NURSE = "nurse"  # watches the ward, runs sessions and their phases
    STAFF = "staff"  # enters readings, registers patients and sessions
    TRAINER = "trainer"  # runs simulated sessions and scenarios
