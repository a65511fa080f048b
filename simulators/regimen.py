"""Dosing regimens as a clinic writes them, turned into inputs for the PK model.

- IV racemic ketamine by weight over a fixed time; the standard for depression is 0.5 mg/kg
  over 40 minutes (clinical.md section 2: Riva-Posse 2018, Talati 2019).
- Intranasal esketamine (Spravato): 28 mg per device, 56 mg = 2 devices and 84 mg = 3 devices,
  one device every 5 minutes (label). Mean absolute nasal bioavailability is about 48% and
  plasma peaks 20–40 minutes after the last spray (label; Janssen medical information).
  Disposition reuses Domino's racemic parameters, an assumption: no esketamine-specific
  three-compartment set is in clinical.md. Absorption is one first-order depot. Its ka is
  chosen for the blood pressure, which the label says peaks about 40 minutes after
  administration (section 5.6): with ka 0.016/min (half-time ~43 min) and the sympathetic ke0
  of effects.py the mean rise peaks 40–50 minutes after the first device for both doses. With
  Domino's fast distribution that puts the plasma peak 12–15 minutes after the last device,
  earlier than the label's 20–40: the slower ka 0.009 that matched it put the pressure peak
  past 70 minutes and left half of 84 mg patients drowsy at 2 h (issue 16). The pressure is
  what Vigil's users watch, so the pressure wins.
  Esketamine is taken as twice as potent as the racemate for every effect (S-ketamine has 3–4
  times the NMDA affinity of R-ketamine, and the racemate is half S), so its concentrations
  count double when effects.py converts them to racemic-equivalent. For sedation they count
  2.8 times (1.4 × that): a factor fitted so the nasal sessions sedate as often as published
  while IV ketamine 0.5 mg/kg leaves most patients alert (effects.py cites both).
"""

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from simulators.pk import DepotDose, DosingPlan, Infusion

ESKETAMINE_DEVICE_MG = 28
NASAL_BIOAVAILABILITY = 0.48
NASAL_KA_PER_MIN = 0.016  # absorption half-time ~43 min
ESKETAMINE_POTENCY = 2.0
ESKETAMINE_SEDATION_POTENCY = 2.8


class KetamineInfusion(BaseModel):
    """Racemic ketamine, IV, at a constant rate."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    drug: Literal["ketamine"] = "ketamine"
    dose_mg_per_kg: float = Field(0.5, gt=0, le=2.0)
    duration_min: float = Field(40, gt=0, le=240)

    # Properties of the drug and route, not choices a scenario may make.
    potency: ClassVar[float] = 1.0
    sedation_potency: ClassVar[float] = 1.0
    absorption_ka_per_min: ClassVar[float] = 0.0

    @property
    def dosing_min(self) -> float:
        """How long the dosing phase ('infusing') lasts."""
        return self.duration_min

    def plan(self, weight_kg: float, start_min: float) -> DosingPlan:
        total_mg = self.dose_mg_per_kg * weight_kg
        rate = total_mg / self.duration_min
        return DosingPlan(infusions=(Infusion(start_min, self.duration_min, rate),))

    def describe(self) -> str:
        return f"ketamine {self.dose_mg_per_kg:g} mg/kg IV over {self.duration_min:g} min"


class EsketamineNasal(BaseModel):
    """Esketamine nasal spray: 28 mg devices used one after another."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    drug: Literal["esketamine"] = "esketamine"
    dose_mg: Literal[28, 56, 84] = 56
    device_interval_min: float = Field(5, gt=0, le=30)

    potency: ClassVar[float] = ESKETAMINE_POTENCY
    sedation_potency: ClassVar[float] = ESKETAMINE_SEDATION_POTENCY
    absorption_ka_per_min: ClassVar[float] = NASAL_KA_PER_MIN

    @property
    def devices(self) -> int:
        return self.dose_mg // ESKETAMINE_DEVICE_MG

    @property
    def dosing_min(self) -> float:
        # The dosing phase ends after the rest that follows the last device.
        return self.devices * self.device_interval_min

    def plan(self, weight_kg: float, start_min: float) -> DosingPlan:
        doses = tuple(
            DepotDose(
                start_min + i * self.device_interval_min,
                ESKETAMINE_DEVICE_MG,
                NASAL_BIOAVAILABILITY,
            )
            for i in range(self.devices)
        )
        return DosingPlan(depot_doses=doses)

    def describe(self) -> str:
        return f"esketamine {self.dose_mg} mg nasal ({self.devices} devices)"


Regimen = Annotated[KetamineInfusion | EsketamineNasal, Field(discriminator="drug")]
