// "This is unusual — confirm?": a modal step before recording values outside the usual range.
// Focus starts on "Go back": a second press of Enter must not record a typo by accident.

const dialog = () => document.getElementById("confirm-values");

/** Show `reasons`; resolve true if the person confirms, false if they go back (or press Escape). */
export function confirmValues(reasons) {
  const box = dialog();
  const list = document.getElementById("confirm-values-list");
  const ok = document.getElementById("confirm-values-ok");
  const back = document.getElementById("confirm-values-back");
  list.replaceChildren(
    ...reasons.map((reason) => {
      const li = document.createElement("li");
      li.textContent = reason;
      return li;
    }),
  );
  return new Promise((resolve) => {
    const finish = (answer) => {
      ok.removeEventListener("click", yes);
      back.removeEventListener("click", no);
      box.removeEventListener("cancel", escape);
      box.close();
      resolve(answer);
    };
    const yes = () => finish(true);
    const no = () => finish(false);
    const escape = (event) => {
      event.preventDefault();
      finish(false);
    };
    ok.addEventListener("click", yes);
    back.addEventListener("click", no);
    box.addEventListener("cancel", escape);
    box.showModal();
    back.focus();
  });
}
