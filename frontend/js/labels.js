// The words every page uses for phases, drugs and routes: one place, so pages never disagree.

export const PHASE_NAMES = {
  baseline: "Baseline",
  infusing: "Infusing",
  recovery: "Recovery",
  discharged: "Discharged",
  stopped: "Stopped",
};

export const ENDED_PHASES = new Set(["discharged", "stopped"]);

export const DRUG_NAMES = { ketamine: "Ketamine", esketamine: "Esketamine" };
export const ROUTE_NAMES = { iv: "IV", im: "IM", intranasal: "Intranasal", sc: "SC" };

/** "Ketamine IV", "Esketamine Intranasal". */
export function drugAndRoute(session) {
  return `${DRUG_NAMES[session.drug] || session.drug} ${ROUTE_NAMES[session.route] || session.route}`;
}
