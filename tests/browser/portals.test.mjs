// Both portals in headless Chromium against a local stack started for the
// test: an admin sets a client up, the camera simulator produces an
// intrusion, and the client's user handles it. Screenshots of the main pages
// go to target/browser-artifacts/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, startStack } from "./support.mjs";

let stack, base, browser, dataDir, start, api, eventually, signIn, shot, sendFrames;

before(async () => {
  stack = await startStack(["CLIP_PRE_ROLL_SECONDS=2", "CLIP_POST_ROLL_SECONDS=2"]);
  ({ base, browser, dataDir, start, api, eventually, signIn, shot, sendFrames } = stack);
});

after(async () => {
  await stack?.stop();
});

test("an admin sets a client up, and the client's user handles an intrusion and nothing of anyone else's", async () => {
  const admin = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await admin.newPage();
  page.on("dialog", (dialog) => dialog.accept());

  // The admin creates a client, a site, a camera and an alarm in the manager portal.
  await signIn(page, "admin", "/manage");
  assert.match(await page.title(), /^Alarm queue \(0\)/, "staff land on the alarm queue");
  assert.equal(await page.getAttribute("header.bar a:text-is('Alarm queue')", "aria-current"), "page");
  await page.click("a:text-is('Clients')");
  await page.waitForURL(`${base}/manage/clients`);
  assert.equal(await page.getAttribute("header.bar a:text-is('Clients')", "aria-current"), "page", "the bar marks where you are");
  assert.equal(await page.getAttribute("header.bar a:text-is('Alarm queue')", "aria-current"), null);
  await page.fill("input[name=name]", "Browser Estates");
  await page.fill("input[name=email]", "ops@nowhere");
  await page.click("text=Create client");
  assert.match(await page.textContent(".field-error"), /email/);
  await page.fill("input[name=email]", "ops@browser-estates.example");
  await page.click("text=Create client");
  await page.waitForURL(/\/manage\/clients\/[0-9a-f-]{36}$/);
  const clientId = page.url().split("/").pop();
  await page.fill("form[action$='/sites'] input[name=name]", "<script>alert('x')</script> Depot");
  await page.fill("form[action$='/sites'] input[name=address]", "1 Dock Road");
  await page.click("text=Add site");
  await page.waitForURL(/\/manage\/sites\//);
  const siteId = page.url().split("/").pop();
  assert.equal(await page.textContent("h1"), "<script>alert('x')</script> Depot", "names render as text");
  const register = async (kind, name) => {
    await page.selectOption("select[name=kind]", kind);
    await page.fill("form[action$='/devices'] input[name=name]", name);
    await page.click("button:text-is('Register')");
    const id = (await page.textContent("[data-testid=device-id]")).trim();
    const credential = (await page.textContent("[data-testid=device-credential]")).trim();
    await page.click("text=Back to the site");
    return { id, credential };
  };
  const camera = await register("camera", "Gate camera");
  await register("alarm", "Gate siren");
  await shot(page, "manager-site");
  assert.ok(await page.isVisible("text=Gate siren"));

  // Another client with an intrusion of its own, through the APIs.
  const other = await api("POST", "/api/clients", { name: "Other Holdings", email: "ops@other.example" });
  const otherSite = await api("POST", "/api/sites", { clientId: other.id, name: "Other Yard", address: "9 Far Lane" });
  const otherCamera = await api("POST", `/api/sites/${otherSite.id}/cameras`, { name: "Other camera" });
  const frames = readdirSync(join(root, "target/demo-frames")).filter((f) => f.endsWith(".jpg")).sort();
  sendFrames(otherCamera, 1, frames.slice(0, 3).map((f) => join(root, "target/demo-frames", f)));

  // The camera simulator plays pedestrian footage; an intrusion opens and its clip arrives.
  const clip = mkdtempSync(join(tmpdir(), "seccom-frames-"));
  for (const file of frames.slice(0, 32)) copyFileSync(join(root, "target/demo-frames", file), join(clip, file));
  await start([
    "camera", "run", "--api", base, "--camera-id", camera.id, "--key", camera.credential,
    "--frames", clip, "--fps", "4", "--once", "--heartbeat-seconds", "1", "--buffer-dir", join(dataDir, "camera-buffer"),
  ]);
  const intrusion = await eventually("an intrusion with its clip", async () => {
    const list = await api("GET", `/api/intrusions?cameraId=${camera.id}`);
    const id = list.items[0]?.id;
    if (!id) return null;
    const detail = await api("GET", `/api/intrusions/${id}`);
    return detail.clip?.state === "stored" && detail.snapshotUrl ? detail : null;
  }, 90);
  const foreign = await eventually("the other client's intrusion", async () => {
    const list = await api("GET", `/api/intrusions?cameraId=${otherCamera.id}`);
    return list.items[0];
  });
  await page.goto(`${base}/manage/intrusions`);
  assert.ok(await page.isVisible(`a[href='/manage/intrusions/${intrusion.id}']`));
  await shot(page, "manager-intrusions");
  // The alarm queue holds both clients' intrusions, oldest first, with names and a snapshot.
  await page.click("a:text-is('Alarm queue')");
  await page.waitForURL(`${base}/manage`);
  assert.match(await page.title(), /^Alarm queue \([1-9]/);
  const queued = page.locator(`tr[data-intrusion='${intrusion.id}']`);
  assert.equal(await queued.getAttribute("data-status"), "open");
  assert.equal(await queued.locator("td[data-label=Client]").textContent(), "Browser Estates");
  assert.equal(await queued.locator("td[data-label=Camera]").textContent(), "Gate camera");
  assert.equal(await queued.locator("img.thumbnail").count(), 1);
  await shot(page, "manager-queue");
  // Live: while nothing changes the page is answered 304; a new intrusion appears without a reload.
  let notModified = 0;
  page.on("response", (response) => {
    if (response.url() === `${base}/manage` && response.status() === 304) notModified += 1;
  });
  await page.evaluate(() => { window.stillTheSamePage = true; });
  const before = await page.title();
  // (The gate camera may still be extending its intrusion for a few seconds.)
  await eventually("a poll of the unchanged queue answered 304", async () => notModified > 0 || null, 40);
  const backDoor = await api("POST", `/api/sites/${otherSite.id}/cameras`, { name: "Back door" });
  sendFrames(backDoor, 1, frames.slice(3, 6).map((f) => join(root, "target/demo-frames", f)));
  await page.waitForSelector("td[data-label=Camera]:text-is('Back door')", { timeout: 30000 });
  assert.ok(await page.evaluate(() => window.stillTheSamePage), "no reload");
  assert.notEqual(await page.title(), before, "the count in the title follows");
  const waiting = (await page.title()).match(/^Alarm queue (\(\d+\))/)[1];
  await page.goto(`${base}/manage/health`);
  assert.equal(await page.textContent("h1"), "Device health");
  // Every staff page counts the queue beside its link and in the tab's title.
  await page.waitForFunction(() => /^\(\d+\) Device health/.test(document.title));
  assert.equal(await page.textContent("header.bar .nav-count"), waiting, "the bar counts what waits");
  assert.ok((await page.title()).startsWith(`${waiting} Device health`));
  await page.click("text=Sign out");
  assert.ok(await page.isVisible("text=You are signed out"));

  // The client's user sees its own site, the intrusion with snapshot and playable clip, and handles it.
  const user = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const phone = await user.newPage();
  await signIn(phone, `client:${clientId}`, "/");
  assert.ok(await phone.isVisible("text=Gate camera"));
  assert.equal(await phone.locator("text=Other Yard").count(), 0, "another client's site is not listed");
  await shot(phone, "client-sites");
  await phone.goto(`${base}/intrusions`);
  await phone.click(`a[href='/intrusions/${intrusion.id}']`);
  await phone.waitForFunction(() => document.querySelector("img")?.naturalWidth > 0);
  const duration = await phone.waitForFunction(() => {
    const video = document.querySelector("video");
    return video && video.readyState >= 1 && video.duration > 0 ? video.duration : false;
  });
  assert.ok((await duration.jsonValue()) > 2, "the clip plays with a duration");
  const preRoll = Math.floor((Date.parse(intrusion.startedAt) - Date.parse(intrusion.clip.from)) / 1000);
  assert.ok((await phone.getAttribute("video", "src")).endsWith(`#t=${preRoll}`), "the clip opens where the intrusion starts");
  assert.ok(await phone.isVisible("td:text-is('Gate siren')"), "commands name their device");
  assert.match(await phone.textContent(".keyholder"), /Browser Estates.*ops@browser-estates\.example/s, "whom to call");
  await shot(phone, "client-intrusion");
  await phone.fill("form[action$='/acknowledge'] textarea[name=note]", "Guard on the way");
  await phone.click("button:text-is('Acknowledge')");
  assert.equal(await phone.textContent(".done"), "The intrusion was acknowledged.");
  assert.ok(await phone.isVisible("text=Guard on the way"));
  assert.ok(await phone.isVisible(".status-acknowledged"));

  // Preferences: a bad address is shown next to its row and nothing is saved; a good one is saved.
  await phone.goto(`${base}/preferences`);
  const blank = phone.locator("fieldset").nth(1);
  await blank.locator("select[name=channel]").selectOption("sms");
  await blank.locator("input[name=address]").fill("12");
  await phone.click("button:text-is('Save')");
  assert.match(await phone.textContent(".field-error"), /phone/);
  await phone.locator("fieldset").nth(1).locator("input[name=address]").fill("+44 20 7946 0123");
  await phone.click("button:text-is('Save')");
  await phone.waitForURL(`${base}/preferences`);
  assert.equal(await phone.locator("input[value='+442079460123']").count(), 1);
  const added = phone.locator("fieldset", { has: phone.locator("input[value='+442079460123']") });
  assert.match(await added.locator(".recipient-status").textContent(), /Awaiting confirmation/, "a new number waits for its link");
  await shot(phone, "client-preferences");

  // Staff vouch for the new number from the client's page in the manager portal.
  await signIn(page, "admin", `/manage/clients/${clientId}`);
  const row = page.locator("tr", { has: page.locator("td:text-is('+442079460123')") });
  assert.equal(await row.getAttribute("data-status"), "awaitingConfirmation");
  await row.locator("button:text-is('Verify')").click();
  await page.waitForURL(`${base}/manage/clients/${clientId}`);
  assert.equal(
    await page.locator("tr", { has: page.locator("td:text-is('+442079460123')") }).getAttribute("data-status"),
    "verifiedByStaff",
  );
  // The client takes the number off again with its Remove box.
  await phone.goto(`${base}/preferences`);
  const numbered = phone.locator("fieldset", { has: phone.locator("input[value='+442079460123']") });
  await numbered.locator("input[name=remove]").check();
  await phone.click("button:text-is('Save')");
  await phone.waitForURL(`${base}/preferences`);
  assert.equal(await phone.locator("input[value='+442079460123']").count(), 0);

  // The webhook secret is shown by its last characters; a new one is shown once.
  const hint = await phone.textContent(".secret-hint code");
  assert.match(hint, /^whsec_….{4}$/, "only the secret's last characters");
  phone.once("dialog", (dialog) => dialog.accept());
  await phone.click("button:text-is('Issue a new secret')");
  const secret = await phone.textContent(".secret code");
  assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
  await phone.goto(`${base}/preferences`);
  assert.equal(await phone.textContent(".secret-hint code"), `whsec_…${secret.slice(-4)}`, "the new secret, by its end");
  assert.equal(await phone.locator(".secret").count(), 0, "and never again in full");

  // Dates mean the viewer's days: in a zone whose date differs from UTC's now, today's date finds today's intrusion.
  const zone = new Date().getUTCHours() < 12 ? "Pacific/Pago_Pago" : "Pacific/Kiritimati";
  const abroad = await browser.newContext({ timezoneId: zone });
  const away = await abroad.newPage();
  await signIn(away, `client:${clientId}`, "/intrusions");
  const today = new Date().toLocaleDateString("en-CA", { timeZone: zone });
  await away.fill("input[name=from]", today);
  await away.fill("input[name=to]", today);
  await away.click("button:text-is('Filter')");
  await away.waitForURL(new RegExp(`tz=${encodeURIComponent(zone)}`));
  assert.ok(await away.isVisible(`a[href='/intrusions/${intrusion.id}']`), `${zone}: ${today}`);
  await away.selectOption("select[name=status]", "resolved");
  await away.click("button:text-is('Filter')");
  assert.ok(await away.isVisible("text=No intrusion matches."), "the state filter");
  await abroad.close();

  // Nothing of another client by URL, no manager portal, no form without its token.
  const response = await phone.goto(`${base}/intrusions/${foreign.id}`);
  assert.equal(response.status(), 404);
  assert.ok(await phone.isVisible("header.bar"), "an error page keeps the portal's bar");
  assert.ok(await phone.isVisible("a:text-is('Back to the page before')"), "and a way back");
  assert.ok(await phone.isVisible("a:text-is('Back to the start')"));
  await shot(phone, "client-not-found");
  assert.equal((await phone.goto(`${base}/manage`)).status(), 403);
  assert.ok(await phone.isVisible("text=This is the SecCom staff portal"));
  await phone.goto(`${base}/intrusions/${intrusion.id}`);
  const [forged] = await Promise.all([
    phone.waitForResponse((r) => r.url().endsWith("/resolve")),
    phone.evaluate((id) => {
      // A form like the page's own, but without the CSRF token.
      const form = document.createElement("form");
      form.method = "post";
      form.action = `/intrusions/${id}/resolve`;
      const note = document.createElement("input");
      note.name = "note";
      note.value = "forged";
      form.append(note);
      document.body.append(form);
      form.submit();
    }, intrusion.id),
  ]);
  assert.equal(forged.status(), 403, "a form without its CSRF token is refused");
  const detail = await api("GET", `/api/intrusions/${intrusion.id}`);
  assert.equal(detail.status, "acknowledged");
  await user.close();
  await admin.close();
});


/** The contrast ratio of two computed colours (`rgb(r, g, b)`), as WCAG defines it. */
function contrast(first, second) {
  const luminance = (colour) => {
    const [r, g, b] = colour.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((channel) => {
      const c = channel / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [light, dark] = [luminance(first), luminance(second)].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}

test("the portals follow a dark system scheme for night shifts, and the bar's labels stay readable in both", async () => {
  for (const colorScheme of ["light", "dark"]) {
    const context = await browser.newContext({ colorScheme, viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    await signIn(page, "admin", "/manage/clients");
    const colours = await page.evaluate(() => {
      const style = (selector) => getComputedStyle(document.querySelector(selector));
      return {
        page: style("body").backgroundColor,
        ink: style("body").color,
        bar: style("header.bar").backgroundColor,
        role: style("header.bar .muted").color,
        table: style("table").backgroundColor,
      };
    });
    const dark = colours.page === "rgb(17, 22, 30)";
    assert.equal(dark, colorScheme === "dark", `${colorScheme}: ${JSON.stringify(colours)}`);
    assert.ok(contrast(colours.ink, colours.page) >= 4.5, JSON.stringify(colours));
    assert.ok(contrast(colours.ink, colours.table) >= 4.5, JSON.stringify(colours));
    assert.ok(contrast(colours.role, colours.bar) >= 4.5, `the role label: ${JSON.stringify(colours)}`);
    await shot(page, `manager-${colorScheme}`);
    await context.close();
  }
});
