"""Rules that compare with the pre-dose baseline: the rise alarm and the pre-dose gate."""

from dataclasses import dataclass

from backend.alerts.limits import AppliedGate, BaselineRise, PreDoseGate, Priority


@dataclass(frozen=True)
class BloodPressure:
    systolic: float | None
    diastolic: float | None


def rise_condition(
    rule: BaselineRise, baseline: BloodPressure, now: BloodPressure
) -> tuple[Priority | None, str]:
    """Whether `now` has risen from `baseline` by the rule's amount, and a sentence saying so."""
    rises = []
    for name, limit, before, after in (
        ("systolic", rule.systolic, baseline.systolic, now.systolic),
        ("diastolic", rule.diastolic, baseline.diastolic, now.diastolic),
    ):
        if limit is None or before is None or after is None:
            continue
        rise = after - before
        threshold = before * limit / 100 if rule.percent else limit
        if rise >= threshold:
            unit = f"{limit:g} %" if rule.percent else f"{limit:g} mmHg"
            rises.append(f"{name} up {rise:g} mmHg from baseline {before:g} (limit +{unit})")
    if not rises:
        return None, ""
    return rule.priority, "Blood pressure rise: " + "; ".join(rises)


def gate_advice(gate: AppliedGate | PreDoseGate, baseline: BloodPressure) -> str | None:
    """Why starting the dose deserves a second look, or None when within the gate: the one
    for the patient's age (PreDoseGate.for_age); a profile's whole gate is taken as for a
    patient whose age is not known."""
    if isinstance(gate, PreDoseGate):
        gate = gate.for_age(None)
    over = []
    if baseline.systolic is not None and baseline.systolic > gate.systolic:
        over.append(f"systolic {baseline.systolic:g} > {gate.systolic:g}")
    if baseline.diastolic is not None and baseline.diastolic > gate.diastolic:
        over.append(f"diastolic {baseline.diastolic:g} > {gate.diastolic:g}")
    if not over:
        return None
    why = f" ({gate.basis})" if gate.basis else ""
    return "Baseline blood pressure above the pre-dose gate: " + ", ".join(over) + why
