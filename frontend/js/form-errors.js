// Showing errors where they belong: next to the field (tied to it with aria-describedby and
// aria-invalid, so a screen reader reads the message with the field), or at the top of the form.

/** Mark `input` invalid and show `message` in its error element (id `${input.id}-error`). */
export function showFieldError(input, message) {
  const box = errorBox(input);
  box.textContent = message;
  box.hidden = false;
  input.setAttribute("aria-invalid", "true");
  const ids = describedBy(input).filter((id) => id !== box.id);
  ids.push(box.id);
  input.setAttribute("aria-describedby", ids.join(" "));
}

/** Mark `input` invalid without a message of its own (e.g. both BP fields share one message). */
export function markInvalid(input, messageBoxId) {
  input.setAttribute("aria-invalid", "true");
  const ids = describedBy(input).filter((id) => id !== messageBoxId);
  ids.push(messageBoxId);
  input.setAttribute("aria-describedby", ids.join(" "));
}

/** Remove every field error and the form-level errors from `form`. */
export function clearErrors(form) {
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    const keep = describedBy(input).filter((id) => !id.endsWith("-error"));
    if (keep.length) input.setAttribute("aria-describedby", keep.join(" "));
    else input.removeAttribute("aria-describedby");
  }
  for (const box of form.querySelectorAll(".field-error")) {
    box.textContent = "";
    box.hidden = true;
  }
  const top = form.querySelector(".form-errors");
  if (top) top.replaceChildren();
}

/** Show messages at the top of the form (in its `.form-errors` alert region). */
export function showFormErrors(form, messages) {
  const top = form.querySelector(".form-errors");
  if (!top || !messages.length) return;
  if (messages.length === 1) {
    top.textContent = messages[0];
    return;
  }
  const intro = document.createElement("p");
  intro.style.margin = "0";
  intro.textContent = "Please check:";
  const list = document.createElement("ul");
  for (const message of messages) {
    const li = document.createElement("li");
    li.textContent = message;
    list.append(li);
  }
  top.replaceChildren(intro, list);
}

function errorBox(input) {
  const id = `${input.id}-error`;
  let box = document.getElementById(id);
  if (!box) {
    box = document.createElement("p");
    box.id = id;
    box.className = "field-error";
    const field = input.closest(".field");
    if (field) field.append(box);
    else input.after(box);
  }
  return box;
}

function describedBy(input) {
  return (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
}
