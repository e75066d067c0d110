// Escalation and live pages: a staff operator sets a site's steps in the form
// (a refused form keeps what was typed); the intrusion that follows appears by
// itself on the client's open list; nobody acknowledges it, and its open page
// shows by itself the step taken and whom it told;
// the client's user reads the steps but has no form to change them. The
// intrusion's page shows the pictures that opened it, and the operator
// resolves it and opens it again. Retention, a legal hold, the audit trail
// and the client's export follow, and staff finally erase the client.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { root, startStack } from "./support.mjs";

let stack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

test("staff set a site's escalation and an unacknowledged intrusion shows the step that told the duty operator", async () => {
  const { base, api, browser, signIn, shot, sendFrames } = stack;
  const client = await api("POST", "/api/clients", { name: "Escalated Estates", email: "ops@escalated.example" });
  const site = await api("POST", "/api/sites", { clientId: client.id, name: "Night Depot", address: "4 Dock Road" });
  const camera = await api("POST", `/api/sites/${site.id}/cameras`, { name: "Dock camera" });

  const page = await (await browser.newContext()).newPage();
  await signIn(page, "admin", `/manage/sites/${site.id}`);
  await page.click("a:text-is('escalation')");
  await page.waitForURL(`${base}/manage/sites/${site.id}/escalation`);
  // Steps out of order are refused by name, and the form keeps them.
  await page.fill("input[name=after0]", "30");
  await page.fill("input[name=notify0]", "duty@seccom.example");
  await page.fill("input[name=after1]", "10");
  await page.fill("input[name=notify1]", "+44 20 7946 0958");
  await page.click("button:text-is('Save the escalation')");
  assert.ok(await page.isVisible("[role=alert] code:text-is('steps[1].afterSeconds')"));
  assert.equal(await page.inputValue("input[name=notify1]"), "+44 20 7946 0958");
  await page.fill("input[name=after0]", "8");
  await page.fill("input[name=after1]", "600");
  await page.click("button:text-is('Save the escalation')");
  await page.waitForURL(`${base}/manage/sites/${site.id}/escalation`);
  const policy = await api("GET", `/api/sites/${site.id}/escalation`);
  assert.deepEqual(policy.steps.map((s) => s.afterSeconds), [8, 600]);
  assert.deepEqual(policy.steps[1].notify, [{ channel: "sms", address: "+442079460958" }]);
  await shot(page, "manager-escalation");

  // The client's user has its intrusion list open: the new intrusion appears without a reload.
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }})).newPage();
  await signIn(phone, `client:${client.id}`, "/intrusions");
  assert.equal(await phone.locator("tr[data-intrusion]").count(), 0);
  const frames = readdirSync(join(root, "target/demo-frames")).filter((f) => f.endsWith(".jpg")).sort();
  sendFrames(camera, 1, frames.slice(0, 3).map((f) => join(root, "target/demo-frames", f)));
  await phone.waitForSelector("tr[data-intrusion]", { timeout: 30_000 });
  const intrusion = { id: await phone.getAttribute("tr[data-intrusion]", "data-intrusion") };

  // Nobody acknowledges it: 8 s on, the duty operator is told, and the open
  // page shows the step by itself, leaving a note being typed alone.
  await page.goto(`${base}/manage/intrusions/${intrusion.id}`);
  await page.fill("form[action$='/acknowledge'] textarea[name=note]", "Calling the keyholder");
  assert.equal(await page.locator("td[data-label=Told]").count(), 0, "not escalated yet");
  await page.waitForSelector("td[data-label=Told]:text-is('duty@seccom.example')", { timeout: 30_000 });
  assert.equal(await page.inputValue("form[action$='/acknowledge'] textarea[name=note]"), "Calling the keyholder");
  assert.equal(await page.locator("td[data-label=Step]").first().textContent(), "1");
  // The pictures that opened it, each loaded and linked at full size.
  await page.waitForFunction(() => {
    const strip = [...document.querySelectorAll("figure.strip img")];
    return strip.length === 3 && strip.every((img) => img.naturalWidth > 0);
  });
  assert.equal(await page.locator("figure.strip a[target=_blank]").count(), 3);
  await shot(page, "manager-intrusion-escalated");

  // Resolved by mistake, then reopened by the operator: back to not acknowledged, the resolution kept.
  await page.click("button:text-is('Resolve')");
  assert.equal(await page.textContent(".done"), "The intrusion was resolved.");
  await page.fill("form[action$='/reopen'] textarea[name=note]", "The guard saw someone after all");
  await page.click("button:text-is('Reopen')");
  assert.equal(await page.textContent(".done"), "The intrusion was reopened.");
  assert.match(await page.textContent("p.handled"), /Reopened .* by admin@seccom\.local \(resolved .* by admin@seccom\.local\).*The guard saw someone after all/s);
  assert.equal((await api("GET", `/api/intrusions/${intrusion.id}`)).status, "open");

  // The client's user reads the steps, without a form.
  await phone.goto(`${base}/sites/${site.id}/escalation`);
  assert.ok(await phone.isVisible("td:text-is('duty@seccom.example')"));
  assert.equal(await phone.locator("form[action$='/escalation']").count(), 0);

  // Retention: staff keep this client's footage 60 days, and hold the intrusion past that.
  await page.goto(`${base}/manage/clients/${client.id}`);
  assert.match(await page.textContent("p.retention"), /30 days.*SecCom's default/s);
  await page.fill("input[name=days]", "60");
  await page.click("button:text-is('Set retention')");
  await page.waitForURL(`${base}/manage/clients/${client.id}`);
  assert.match(await page.textContent("p.retention"), /60 days.*set by admin@seccom\.local/s);
  assert.equal((await api("GET", `/api/clients/${client.id}/retention`)).days, 60);
  await page.goto(`${base}/manage/intrusions/${intrusion.id}`);
  await page.fill("form[action$='/hold'] textarea[name=note]", "Police case 2026/114");
  await page.click("button:text-is('Place a legal hold')");
  assert.equal(await page.textContent(".done"), "The intrusion was put under a legal hold.");
  assert.match(await page.textContent("p.hold"), /admin@seccom\.local.*Police case 2026\/114/s);
  // The client sees the hold, without a form to lift it.
  await phone.goto(`${base}/intrusions/${intrusion.id}`);
  assert.match(await phone.textContent("p.hold"), /Police case 2026\/114/);
  assert.equal(await phone.locator("form[action$='/release-hold']").count(), 0);
  page.once("dialog", (dialog) => dialog.accept());
  await page.click("button:text-is('Release the hold')");
  assert.equal(await page.textContent(".done"), "The intrusion was released from its legal hold.");
  assert.equal(await page.locator("p.hold").count(), 0);

  // The audit trail shows who held it and who looked at it; the client sees its own entries.
  await page.goto(`${base}/manage/audit`);
  const held = page.locator("tr[data-action=placedLegalHold]").first();
  assert.equal(await held.locator("td[data-label=Who]").textContent(), "admin@seccom.local");
  assert.equal(await held.locator("td[data-label=Client]").textContent(), "Escalated Estates");
  const signedIn = page.locator("tr[data-action=signedIn]", { has: page.locator("td[data-label=Who]:text-is('admin@seccom.local')") });
  assert.equal(await signedIn.count(), 1, "a staff sign-in, once a session");
  assert.equal(await signedIn.locator("td[data-label=Client]").textContent(), "SecCom");
  await phone.goto(`${base}/audit`);
  assert.ok(await phone.locator("tr[data-action=viewedIntrusion]").count() > 0, "the client's own look at it");
  assert.equal(await phone.locator("tr[data-action=signedIn]").count(), 1, "its own sign-in, once");
  assert.equal(await phone.locator("th:text-is('Client')").count(), 0);

  // Subject access: the client downloads its records, with its intrusion in them.
  await phone.goto(`${base}/`);
  await phone.click("button:text-is('Download our records')");
  const href = await phone.getAttribute("a.export", "href");
  const records = await (await fetch(href)).json();
  assert.equal(records.client.id, client.id);
  assert.equal(records.intrusions[0].id, intrusion.id);

  // Erasure: a mistyped name erases nothing; the right one starts the job,
  // whose page shows by itself when it is done; the client is then gone.
  await page.goto(`${base}/manage/clients/${client.id}`);
  await page.fill("input[name=confirm]", "Escalated");
  await page.click("button:text-is('Erase this client and everything recorded of it')");
  assert.equal(await page.textContent("h1"), "Nothing was erased");
  assert.equal((await api("GET", `/api/clients/${client.id}`)).id, client.id);
  await page.goto(`${base}/manage/clients/${client.id}`);
  await page.fill("input[name=confirm]", "Escalated Estates");
  await page.click("button:text-is('Erase this client and everything recorded of it')");
  await page.waitForURL(/\/manage\/erasures\/[0-9a-f-]+$/);
  await page.waitForSelector("dd.status[data-status=done]", { timeout: 30_000 });
  assert.equal(await page.textContent("h1"), "Erasure of client Escalated Estates");
  assert.match(await page.textContent("dl.facts"), /1 sites, 1 cameras and alarms, 1 intrusions/);
  await shot(page, "manager-erasure");
  const gone = await page.goto(`${base}/manage/clients/${client.id}`);
  assert.equal(gone.status(), 404);
  await page.goto(`${base}/manage/erasures`);
  assert.equal(await page.locator(`td:text-is('client Escalated Estates')`).count(), 1);
  await page.goto(`${base}/manage/audit`);
  assert.equal(await page.locator("tr[data-action=requestedErasure]").count(), 1);
});
