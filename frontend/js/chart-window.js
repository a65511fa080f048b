// The buttons that choose how much time the charts show. Real buttons rather than Plotly's
// range selector: they take the keyboard, are big enough for a finger, and say which is chosen.

/** Wire the `[data-window]` buttons in `group` to `chart`; the pressed one follows the chart. */
export function bindWindowButtons(chart, group) {
  const buttons = [...group.querySelectorAll("button[data-window]")];
  for (const button of buttons) {
    button.addEventListener("click", () => chart.setWindow(button.dataset.window));
  }
  const note = group.querySelector("[data-zoom-note]");
  chart.onWindowChange((name) => {
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.window === name));
    if (note) note.hidden = name !== "custom";
  });
}
