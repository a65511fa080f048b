// Tell screen-reader users what changed (new alarms, the audio pause), through one live region.

let timer = null;

/** Say `text` through the page's #alarm-announcer (assertive: alarms interrupt). */
export function announce(text) {
  const region = document.getElementById("alarm-announcer");
  if (!region) return;
  // Clearing first makes the same words be spoken again when they repeat.
  region.textContent = "";
  clearTimeout(timer);
  timer = setTimeout(() => {
    region.textContent = text;
  }, 50);
}
