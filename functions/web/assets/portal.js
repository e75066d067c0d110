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
// The zone and mask editor of a camera's page: a click or tap on the frame adds a
// corner, "Finish shape" closes the polygon; the shapes travel as JSON in the form.
const editor = document.getElementById("zone-editor");
const detectionForm = document.getElementById("detection-form");
if (editor && detectionForm) {
  const svgNs = "http://www.w3.org/2000/svg";
  const frame = editor.querySelector(".frame");
  const svg = editor.querySelector("svg");
  const status = editor.querySelector("[data-role=status]");
  const list = editor.querySelector("[data-role=shapes]");
  const kind = editor.querySelector("[name=shapeKind]");
  const nameInput = editor.querySelector("[name=shapeName]");
  const fields = { zones: detectionForm.elements.zones, masks: detectionForm.elements.masks };
  const shapes = { zones: JSON.parse(fields.zones.value || "[]"), masks: JSON.parse(fields.masks.value || "[]") };
  let corners = [];
  frame.style.aspectRatio = `${editor.dataset.width} / ${editor.dataset.height}`;

  const polygon = (points, className) => {
    const element = document.createElementNS(svgNs, "polygon");
    element.setAttribute("points", points.map(([x, y]) => `${x},${y}`).join(" "));
    element.setAttribute("class", className);
    return element;
  };
  const render = () => {
    svg.replaceChildren();
    for (const zone of shapes.zones) svg.append(polygon(zone.polygon, "zone"));
    for (const mask of shapes.masks) svg.append(polygon(mask.polygon, "mask"));
    if (corners.length > 0) svg.append(polygon(corners, "drawing"));
    for (const [x, y] of corners) {
      const dot = document.createElementNS(svgNs, "circle");
      dot.setAttribute("cx", x);
      dot.setAttribute("cy", y);
      dot.setAttribute("r", ".01");
      dot.setAttribute("class", "corner");
      svg.append(dot);
    }
    list.replaceChildren();
    for (const [group, label] of [["zones", "Zone"], ["masks", "Mask"]]) {
      shapes[group].forEach((shape, index) => {
        const item = document.createElement("li");
        item.textContent = `${label}${shape.name ? ` “${shape.name}”` : ""}, ${shape.polygon.length} corners`;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "Remove";
        remove.addEventListener("click", () => {
          shapes[group].splice(index, 1);
          render();
        });
        item.append(remove);
        list.append(item);
      });
    }
    fields.zones.value = JSON.stringify(shapes.zones);
    fields.masks.value = JSON.stringify(shapes.masks);
  };
  svg.addEventListener("click", (event) => {
    const box = svg.getBoundingClientRect();
    const at = (value) => Math.round(Math.min(Math.max(value, 0), 1) * 1000) / 1000;
    corners.push([at((event.clientX - box.left) / box.width), at((event.clientY - box.top) / box.height)]);
    status.textContent = `${corners.length} corner(s); finish the shape when it is done.`;
    render();
  });
  editor.querySelector("[data-action=finish]").addEventListener("click", () => {
    if (corners.length < 3) {
      status.textContent = "A shape needs at least 3 corners: click on the picture to add them.";
      return;
    }
    if (kind.value === "zone") {
      const name = nameInput.value.trim();
      if (!name) {
        status.textContent = "Name the zone first (it is shown on the intrusions it raises).";
        nameInput.focus();
        return;
      }
      shapes.zones.push({ name, polygon: corners });
      nameInput.value = "";
    } else {
      shapes.masks.push({ polygon: corners });
    }
    corners = [];
    status.textContent = "Shape added. Save to apply it.";
    render();
  });
  editor.querySelector("[data-action=undo]").addEventListener("click", () => {
    corners.pop();
    render();
  });
  editor.querySelector("[data-action=clear]").addEventListener("click", () => {
    corners = [];
    render();
  });
  render();
}
