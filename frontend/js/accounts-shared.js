// What the accounts and change-password pages share: role names, dates with their year on the
// 24-hour clock, and the admin pages' links in the header.

export const ROLES = ["admin", "nurse", "staff", "trainer"];
const ROLE_NAMES = { admin: "Admin", nurse: "Nurse", staff: "Staff", trainer: "Trainer" };

export function roleName(role) {
  return ROLE_NAMES[role] || role;
}

/** "6 Dec 2026, 19:21" in this screen's time zone: a last sign-in or an expiry may be a year off. */
export function dateTimeText(iso) {
  const d = new Date(iso);
  const day = d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
  const time = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return `${day}, ${time}`;
}

/** Show the header's admin-only links (Accounts, Chairs, Patients, Audit) to admins. */
export function showAdminLinks(me) {
  for (const link of document.querySelectorAll(".app-header .admin-only")) {
    link.hidden = me.role !== "admin";
  }
}
