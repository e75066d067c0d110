// Shows every <time datetime> in the viewer's own time zone.
const localiseTimes = (root) => {
  for (const element of root.querySelectorAll("time[datetime]")) {
    const at = new Date(element.getAttribute("datetime"));
    if (!Number.isNaN(at.getTime())) {
      element.textContent = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
      element.title = at.toISOString();
    }
  }
};
localiseTimes(document);
// Marks the bar's link to the section shown (aria-current): the longest link
// the path starts with; the portal's start page only when it is the page.
{
  const home = document.querySelector("header.bar a.brand")?.getAttribute("href");
  const here = window.location.pathname;
  let current = null;
  for (const link of document.querySelectorAll("header.bar > a:not(.brand)")) {
    const path = link.getAttribute("href");
    const matches = path === here || (path !== home && here.startsWith(`${path}/`));
    if (matches && (!current || path.length > current.getAttribute("href").length)) current = link;
  }
  current?.setAttribute("aria-current", "page");
}
// Date filters mean the viewer's days: forms carry the browser's time zone.
for (const field of document.querySelectorAll("input[data-viewer-zone]")) {
  field.value = Intl.DateTimeFormat().resolvedOptions().timeZone;
}
// Staff pages: how many intrusions wait in the alarm queue, beside its link
// and at the start of the tab's title, asked for every few seconds (304 while
// it is the same). The queue page's own title already carries it.
const counter = document.querySelector("header.bar [data-count-url]");
let waiting = "";
const showCount = () => {
  if (!counter) return;
  counter.textContent = waiting === "0" ? "" : `(${waiting})`;
  counter.hidden = waiting === "" || waiting === "0";
  if (document.querySelector("h1 .count")) return;
  const title = document.title.replace(/^\(\d+\+?\) /, "");
  document.title = counter.hidden ? title : `(${waiting}) ${title}`;
};
if (counter) {
  let countTag = null;
  const poll = async () => {
    const response = await fetch(counter.dataset.countUrl, {
      headers: countTag ? { "If-None-Match": countTag } : {},
      cache: "no-store",
    });
    if (response.status !== 200) return;
    countTag = response.headers.get("ETag");
    const count = await response.json();
    waiting = `${count.unresolved}${count.more ? "+" : ""}`;
    showCount();
  };
  poll().catch(() => {});
  setInterval(() => poll().catch(() => {}), Number(counter.dataset.poll) * 1000);
}
// Live pages ([data-live]: the alarm queue, intrusion lists, an intrusion): ask for the page again every few
// seconds with its ETag (304 when nothing changed), swap in what changed, and
// on a new intrusion sound a tone and, if allowed, show a notification.
const live = document.querySelector("[data-live]");
if (live) {
  let etag = live.dataset.etag;
  const seen = new Set([...live.querySelectorAll("[data-intrusion]")].map((row) => row.dataset.intrusion));
  const tone = () => {
    try {
      const audio = new AudioContext();
      const oscillator = audio.createOscillator();
      oscillator.frequency.value = 880;
      oscillator.connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.4);
    } catch {
      // No sound before the user has interacted with the page; the row still appears.
    }
  };
  const wire = () => {
    const allow = live.querySelector("[data-action=enable-alerts]");
    if (!allow || !("Notification" in window) || Notification.permission === "granted") {
      allow?.remove();
      return;
    }
    allow.addEventListener("click", () => Notification.requestPermission().then(() => allow.remove()));
  };
  wire();
  const refresh = async () => {
    const response = await fetch(window.location.href, { headers: { "If-None-Match": etag }, cache: "no-store" });
    if (response.status !== 200) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const next = fresh.querySelector("[data-live]");
    if (!next) return;
    etag = response.headers.get("ETag") ?? next.dataset.etag;
    // A page cut into versioned regions gets only the regions that changed, so
    // a note being typed or a clip playing elsewhere on it is left alone.
    const regions = [...live.querySelectorAll("[data-version]")];
    const fresher = [...next.querySelectorAll("[data-version]")];
    if (regions.length > 0 && regions.length === fresher.length) {
      regions.forEach((region, index) => {
        if (region.dataset.version !== fresher[index].dataset.version) region.replaceWith(fresher[index]);
      });
    } else {
      live.replaceChildren(...next.childNodes);
    }
    document.title = fresh.title;
    showCount();
    localiseTimes(live);
    wire();
    const added = [...live.querySelectorAll("[data-intrusion]")].filter((row) => !seen.has(row.dataset.intrusion));
    for (const row of added) seen.add(row.dataset.intrusion);
    if (added.length > 0) {
      tone();
      if ("Notification" in window && Notification.permission === "granted") {
        new Notification(`New intrusion: ${added.length}`, { body: document.title });
      }
    }
  };
  setInterval(() => refresh().catch(() => {}), Number(live.dataset.live) * 1000);
}
// An error page's way back to the page before, when there is one.
for (const back of document.querySelectorAll("a[data-action=back]")) {
  if (window.history.length > 1) {
    back.hidden = false;
    back.addEventListener("click", (event) => {
      event.preventDefault();
      window.history.back();
    });
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
  const groups = [["zones", "Zone"], ["masks", "Mask"], ["privacy", "Privacy mask"]];
  const fields = Object.fromEntries(groups.map(([group]) => [group, detectionForm.elements[group]]));
  const shapes = Object.fromEntries(groups.map(([group]) => [group, JSON.parse(fields[group].value || "[]")]));
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
    for (const region of shapes.privacy) svg.append(polygon(region.polygon, "privacy"));
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
    for (const [group, label] of groups) {
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
    for (const [group] of groups) fields[group].value = JSON.stringify(shapes[group]);
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
      shapes[kind.value === "privacy" ? "privacy" : "masks"].push({ polygon: corners });
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
// Web Push ([data-push-key] forms): register the service worker, subscribe
// with the deployment's key and save the subscription, so this browser is told
// of new intrusions with the portal closed.
for (const form of document.querySelectorAll("form[data-push-key]")) {
  const status = form.querySelector("[data-push-status]");
  const say = (text) => {
    if (status) status.textContent = text;
  };
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    say("This browser cannot receive pushes.");
    form.querySelector("button").disabled = true;
    continue;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        say("Notifications are blocked for this site in the browser's settings.");
        return;
      }
      const registration = await navigator.serviceWorker.register(form.dataset.worker, { scope: form.dataset.scope });
      await navigator.serviceWorker.ready;
      const base64 = form.dataset.pushKey.replace(/-/g, "+").replace(/_/g, "/");
      const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
      const key = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
      const subscription =
        (await registration.pushManager.getSubscription()) ??
        (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
      const json = subscription.toJSON();
      const body = new URLSearchParams({
        csrf: form.elements.csrf.value,
        endpoint: json.endpoint,
        p256dh: json.keys.p256dh,
        auth: json.keys.auth,
      });
      const answer = await fetch(form.action, { method: "POST", body });
      say(answer.ok
        ? "This browser will be told of new intrusions, even with the portal closed."
        : "The subscription could not be saved; try again.");
    } catch (error) {
      say(`This browser could not subscribe (${error.message}).`);
    }
  });
}
