"""Simulated time from wall time: run at 1–60× real speed, pause and resume.

Pure: every method takes the current monotonic wall time (e.g. `time.monotonic()`) as an
argument, so the runner owns the real clock and tests can use any numbers.
"""

import math

MIN_SPEED = 1.0
MAX_SPEED = 60.0


def speed_error(speed: float) -> str | None:
    """Why `speed` cannot be used, or None."""
    if not isinstance(speed, int | float) or isinstance(speed, bool) or math.isnan(speed):
        return "speed must be a number"
    if not MIN_SPEED <= speed <= MAX_SPEED:
        return f"speed must be between {MIN_SPEED:g}× and {MAX_SPEED:g}×, not {speed:g}×"
    return None


class SimClock:
    """Maps monotonic wall seconds to simulated seconds since the session started."""

    def __init__(
        self, wall_s: float, speed: float = 1.0, sim_s: float = 0.0, paused: bool = False
    ) -> None:
        self._check_speed(speed)
        self._speed = float(speed)
        self._paused = paused
        # Simulated time is sim_anchor plus the wall time since wall_anchor, times speed.
        self._wall_anchor = wall_s
        self._sim_anchor = sim_s

    @staticmethod
    def _check_speed(speed: float) -> None:
        problem = speed_error(speed)
        if problem is not None:
            raise ValueError(problem)

    def _check_wall(self, wall_s: float) -> None:
        if wall_s < self._wall_anchor:
            raise ValueError(
                f"wall time went back ({wall_s:g} s < {self._wall_anchor:g} s): "
                "pass a monotonic clock"
            )

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def sim_s(self, wall_s: float) -> float:
        """Simulated seconds at wall time `wall_s`."""
        self._check_wall(wall_s)
        if self._paused:
            return self._sim_anchor
        return self._sim_anchor + (wall_s - self._wall_anchor) * self._speed

    def _rebase(self, wall_s: float) -> None:
        self._sim_anchor = self.sim_s(wall_s)
        self._wall_anchor = wall_s

    def pause(self, wall_s: float) -> None:
        self._rebase(wall_s)
        self._paused = True

    def resume(self, wall_s: float) -> None:
        self._rebase(wall_s)
        self._paused = False

    def set_speed(self, speed: float, wall_s: float) -> None:
        """Change speed from `wall_s` on; time already simulated is kept."""
        self._check_speed(speed)
        self._rebase(wall_s)
        self._speed = float(speed)

    def wall_s_for(self, sim_s: float, wall_s: float) -> float | None:
        """The wall time at which simulated time reaches `sim_s` (None while paused)."""
        now_sim = self.sim_s(wall_s)
        if sim_s <= now_sim:
            return wall_s
        if self._paused:
            return None
        return wall_s + (sim_s - now_sim) / self._speed


def seconds_ago(at_s: float, present_s: float, speed: float, history_until_s: float = 0.0) -> float:
    """How long ago, in wall seconds, something simulated at `at_s` happened, seen from the
    simulation's `present_s` running at `speed`: the time between is compressed by the speed,
    except up to `history_until_s` (a start point part-way in), which is history at real speed.
    Never negative, so nothing is stamped in the future."""
    if at_s <= history_until_s:
        behind = max(0.0, present_s - history_until_s) / speed + (history_until_s - at_s)
    else:
        behind = (present_s - at_s) / speed
    return max(0.0, behind)
