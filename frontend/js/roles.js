// Who may do what, mirrored from the server (backend/core/dependencies.py and
// sessions/service.py:check_may_run) so the page offers only what will be accepted.
// The server still decides; a refusal is shown as an error.

/** Trainers work only with simulated sessions; clinical roles only with real ones. */
function mayRun(role, simulated) {
  if (role === "admin") return true;
  return simulated ? role === "trainer" : role !== "trainer";
}

export function canRecord(role, simulated) {
  return ["admin", "nurse", "staff", "trainer"].includes(role) && mayRun(role, simulated);
}

export function canChangePhase(role, simulated) {
  return ["admin", "nurse", "trainer"].includes(role) && mayRun(role, simulated);
}

export function canStartSession(role) {
  return ["admin", "nurse", "staff", "trainer"].includes(role);
}

/** Registering patients is for clinical roles (and admins). */
export function canRegisterPatient(role) {
  return ["admin", "nurse", "staff"].includes(role);
}
