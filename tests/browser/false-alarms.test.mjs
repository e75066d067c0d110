// False-alarm control in the client portal, on a phone: a client's user
// disarms and re-arms its site, then draws a zone on its camera's latest frame
// (which came in a bundle, so the portal reads it out of the bundle) by
// tapping; pedestrian frames whose people stand outside that zone open
// nothing, while the same frames, sent in bundles of four, open an intrusion at
// a camera without zones.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { root, startStack } from "./support.mjs";

let stack;

before(async () => {
  // The detector rereads camera settings after 1 s instead of 30, so the test need not wait.
  stack = await startStack(["SETTINGS_CACHE_SECONDS=1"]);
});

after(async () => {
  await stack?.stop();
});

test("a client disarms and re-arms its site and draws a zone that keeps passers-by out", async () => {
  const { base, api, browser, eventually, signIn, shot, sendFrames } = stack;
  const client = await api("POST", "/api/clients", { name: "Zoned Storage", email: "ops@zoned.example" });
  const site = await api("POST", "/api/sites", { clientId: client.id, name: "Zoned Yard", address: "2 Quay Street" });
  const camera = await api("POST", `/api/sites/${site.id}/cameras`, { name: "Quay camera" });
  const control = await api("POST", `/api/sites/${site.id}/cameras`, { name: "Control camera" });
  const frames = readdirSync(join(root, "target/demo-frames"))
    .filter((f) => f.endsWith(".jpg"))
    .sort()
    .slice(0, 8)
    .map((f) => join(root, "target/demo-frames", f));
  // Two frames first, in one bundle, so the camera page has a picture to draw on.
  sendFrames(camera, 1, frames.slice(0, 2), 2);

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true });
  const phone = await context.newPage();
  await signIn(phone, `client:${client.id}`, "/");

  // Disarm, then arm again, from the site's arming page.
  await phone.click(`a[href='/sites/${site.id}/arming']`);
  assert.ok(await phone.isVisible(".state-armed"));
  await phone.fill("input[name=note]", "Stocktake today");
  await phone.click("button:text-is('Disarm now')");
  await phone.waitForSelector(".state-disarmed");
  assert.equal((await api("GET", `/api/sites/${site.id}/arming`)).armedNow, false);
  await phone.click("button:text-is('Arm now')");
  await phone.waitForSelector(".state-armed");
  assert.equal((await api("GET", `/api/sites/${site.id}/arming`)).armedNow, true);
  assert.ok(await phone.isVisible("td:text-is('disarmed by hand')"));
  assert.ok(await phone.isVisible("td:text-is('Stocktake today')"));
  await shot(phone, "client-arming");

  // Draw a small zone in the frame's top-left corner, where nobody walks, by tapping its corners.
  await phone.click("a:text-is('Quay camera')");
  await phone.waitForURL(`${base}/cameras/${camera.id}`);
  await eventually("the camera's first frame on its page", async () => {
    await phone.reload();
    await phone.waitForLoadState("load");
    return phone.evaluate(() => document.querySelector("#zone-editor img")?.naturalWidth > 0);
  });
  assert.equal(
    await phone.getAttribute("#zone-editor img", "src"),
    `/cameras/${camera.id}/picture`,
    "a frame that came in a bundle is read out of it",
  );
  await phone.fill("input[name=shapeName]", "roof");
  const box = await phone.locator("#zone-editor svg").boundingBox();
  for (const [x, y] of [[0.01, 0.01], [0.07, 0.01], [0.07, 0.06], [0.01, 0.06]]) {
    await phone.touchscreen.tap(box.x + x * box.width, box.y + y * box.height);
  }
  await phone.click("button:text-is('Finish shape')");
  assert.ok(await phone.isVisible("li:has-text('Zone “roof”, 4 corners')"));
  // And a privacy mask over the bottom-right corner (a neighbour's window), blurred in stored pictures.
  await phone.selectOption("select[name=shapeKind]", "privacy");
  const svg = phone.locator("#zone-editor svg");
  for (const [x, y] of [[0.93, 0.93], [0.99, 0.93], [0.99, 0.99]]) {
    const size = await svg.boundingBox();
    await svg.tap({ position: { x: x * size.width, y: y * size.height } });
  }
  await phone.click("button:text-is('Finish shape')");
  assert.ok(await phone.isVisible("li:has-text('Privacy mask, 3 corners')"));
  assert.equal(await phone.locator("#zone-editor svg polygon.privacy").count(), 1);
  await shot(phone, "client-camera-zones");
  await phone.click("button:text-is('Save')");
  await phone.waitForURL(`${base}/cameras/${camera.id}`);
  const settings = await api("GET", `/api/cameras/${camera.id}/detection`);
  assert.equal(settings.zones.length, 1);
  assert.equal(settings.zones[0].name, "roof");
  assert.equal(settings.zones[0].polygon.length, 4);
  assert.ok(settings.zones[0].polygon.every(([x, y]) => x < 0.1 && y < 0.1), JSON.stringify(settings.zones));
  assert.equal(settings.privacy.length, 1);
  assert.ok(settings.privacy[0].polygon.every(([x, y]) => x > 0.9 && y > 0.9), JSON.stringify(settings.privacy));

  // The same pedestrian frames: an intrusion at the control camera, none at the zoned one.
  await new Promise((ok) => setTimeout(ok, 1500));
  sendFrames(camera, 3, frames.slice(2));
  sendFrames(control, 1, frames.slice(1), 4);
  await eventually("an intrusion at the control camera", async () => {
    const list = await api("GET", `/api/intrusions?cameraId=${control.id}`);
    return list.items.length > 0;
  });
  await new Promise((ok) => setTimeout(ok, 2000));
  const zoned = await api("GET", `/api/intrusions?cameraId=${camera.id}`);
  assert.deepEqual(zoned.items, [], "nobody stood in the zone");
  await context.close();
});
