"""The clinic's time zone defaults to the server's own: TZ, else /etc/localtime's link, else UTC."""

from pathlib import Path

import pytest

from backend.core import settings as settings_module
from backend.core.settings import Settings, local_zone_name


@pytest.mark.parametrize(
    ("tz_env", "localtime", "zone"),
    [
        ("Europe/London", "/usr/share/zoneinfo/Asia/Kolkata", "Europe/London"),  # TZ first
        (":Europe/Paris", None, "Europe/Paris"),  # glibc's leading colon
        (":/usr/share/zoneinfo/America/New_York", None, "America/New_York"),  # a file path
        (None, "/usr/share/zoneinfo/Asia/Kolkata", "Asia/Kolkata"),
        ("", "../usr/share/zoneinfo/Australia/Adelaide", "Australia/Adelaide"),  # relative link
        (None, "/usr/share/zoneinfo/posix/Europe/Berlin", "Europe/Berlin"),
        ("CET-1CEST,M3.5.0,M10.5.0/3", "/usr/share/zoneinfo/Europe/Rome", "Europe/Rome"),
        ("Mars/Olympus", None, "UTC"),  # a zone nobody knows: not trusted
        (None, "/etc/some-copy", "UTC"),  # not a zoneinfo link
        (None, None, "UTC"),
    ],
)
def test_the_servers_zone_is_found_from_tz_then_localtime_then_utc(
    tz_env: str | None, localtime: str | None, zone: str
) -> None:
    assert local_zone_name(tz_env, localtime) == zone


def test_an_unset_clinic_zone_is_the_servers_and_a_set_one_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VIGIL_CLINIC_TIMEZONE", raising=False)
    # Read when the settings are made (not fixed at import time): the server's TZ now.
    monkeypatch.setenv("TZ", "Europe/Lisbon")
    assert Settings(_env_file=None).clinic_timezone == "Europe/Lisbon"
    assert Settings(_env_file=None, clinic_timezone="Asia/Tokyo").clinic_timezone == "Asia/Tokyo"
    monkeypatch.setattr(settings_module, "LOCALTIME", Path("/nonexistent"))
    monkeypatch.delenv("TZ")
    assert Settings(_env_file=None).clinic_timezone == "UTC"
