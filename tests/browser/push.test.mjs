// Web Push in the client portal: the "Notify this browser" form carries the
// deployment's key and registers the service worker (this offline Chromium has
// no vendor push service, so subscribing itself fails, readably); a
// subscription from the local push-service stand-in, saved through the same
// portal route the script uses, receives the next intrusion encrypted and
// signed; and that push, handed to the service worker as a push event, shows
// a notification that names the site.

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

test("a client's browser opts in to pushes and its service worker shows the next intrusion", async () => {
  const { base, pushService, api, browser, eventually, signIn, sendFrames } = stack;
  const client = await api("POST", "/api/clients", { name: "Pushed Partners", email: "ops@pushed.example" });
  const site = await api("POST", "/api/sites", { clientId: client.id, name: "Harbour Store", address: "9 Quay" });
  const camera = await api("POST", `/api/sites/${site.id}/cameras`, { name: "Quay camera" });
  const { publicKey } = await api("GET", "/api/push-key");

  const context = await browser.newContext();
  await context.grantPermissions(["notifications"], { origin: base });
  const page = await context.newPage();
  await signIn(page, `client:${client.id}`, "/preferences");
  const form = page.locator("form[data-push-key]");
  assert.equal(await form.getAttribute("data-push-key"), publicKey);
  await page.click("button:text-is('Notify this browser')");
  await page.waitForFunction(() => document.querySelector("[data-push-status]").textContent.length > 0);
  assert.match(await page.textContent("[data-push-status]"), /could not subscribe|will be told/);
  const worker = await page.evaluate(async () => (await navigator.serviceWorker.getRegistration("/"))?.active?.scriptURL);
  assert.equal(worker, `${base}/sw.js`);

  // What the script posts once the browser has a subscription.
  const subscription = await (await fetch(`${pushService}/subscriptions`, { method: "POST" })).json();
  const saved = await page.evaluate(async (sub) => {
    const form = document.querySelector("form[data-push-key]");
    const body = new URLSearchParams({ csrf: form.elements.csrf.value, endpoint: sub.endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth });
    return (await fetch(form.action, { method: "POST", body })).status;
  }, subscription);
  assert.equal(saved, 204);

  const frames = readdirSync(join(root, "target/demo-frames")).filter((f) => f.endsWith(".jpg")).sort();
  sendFrames(camera, 1, frames.slice(0, 3).map((f) => join(root, "target/demo-frames", f)));
  const [push] = await eventually("a push", async () => {
    const received = await (await fetch(`${pushService}/subscriptions/${subscription.id}`)).json();
    return received.length > 0 ? received : undefined;
  });
  assert.equal(push.vapidKey, publicKey);
  assert.equal(push.message.title, "Intrusion at Harbour Store");
  assert.match(push.message.url, /^\/intrusions\/[0-9a-f-]+$/);

  // The push, handed to the service worker as its push service would: a notification.
  // (Delivered again on each look: a worker being started may miss one; the tag keeps one notification.)
  const cdp = await context.newCDPSession(page);
  const registrations = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (event) => registrations.push(...event.registrations));
  await cdp.send("ServiceWorker.enable");
  const shown = await eventually("a notification", async () => {
    const registration = registrations.find((r) => r.scopeURL === `${base}/` && !r.isDeleted);
    if (!registration) return undefined;
    await cdp.send("ServiceWorker.deliverPushMessage", {
      origin: base,
      registrationId: registration.registrationId,
      data: JSON.stringify(push.message),
    });
    await new Promise((ok) => setTimeout(ok, 500));
    const list = await page.evaluate(async () =>
      (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag })));
    return list.length > 0 ? list : undefined;
  }, 45);
  assert.equal(shown[0].title, "Intrusion at Harbour Store");
  assert.match(shown[0].body, /^Quay camera saw a person at /);
  assert.equal(shown[0].tag, push.message.tag);
});
