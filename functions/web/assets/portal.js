// Shows every <time datetime> in the viewer's own time zone.
for (const element of document.querySelectorAll("time[datetime]")) {
  const at = new Date(element.getAttribute("datetime"));
  if (!Number.isNaN(at.getTime())) {
    element.textContent = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
    element.title = at.toISOString();
  }
}
// Asks before destructive actions.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
