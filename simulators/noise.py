"""Mean-reverting random wander (Ornstein–Uhlenbeck), for drifting vitals and device errors."""

import math
import random


class Wander:
    """A zero-mean process with spread `sd` that forgets its past over `tau_s` seconds.

    Stepped with the exact discrete update, so its statistics do not depend on the step size.
    """

    def __init__(self, rng: random.Random, sd: float, tau_s: float) -> None:
        self.sd = sd
        self.tau_s = tau_s
        self.value = rng.gauss(0, sd)  # start anywhere in its stationary spread

    def step(self, rng: random.Random, dt_s: float) -> float:
        decay = math.exp(-dt_s / self.tau_s)
        self.value = self.value * decay + self.sd * math.sqrt(1 - decay * decay) * rng.gauss(0, 1)
        return self.value
