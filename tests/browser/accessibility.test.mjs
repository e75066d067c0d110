// An axe-core scan (WCAG 2.1 A and AA rules) of the main pages of both
// portals, in the light and the dark scheme: no serious or critical violation.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { root, startStack } from "./support.mjs";

const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

let stack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

/** The serious and critical violations axe finds on the page now, as readable lines. */
async function violations(page) {
  await page.addScriptTag({ path: axePath });
  const found = await page.evaluate(async () => {
    const result = await globalThis.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    const lines = result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
    return { checked: result.passes.map((p) => p.id), lines };
  });
  // The scan ran: colour contrast, labels and names were checked on the page.
  for (const rule of ["color-contrast", "document-title", "html-has-lang"]) {
    assert.ok(found.checked.includes(rule), `axe checked ${rule} on ${page.url()}: ${found.checked}`);
  }
  return found.lines;
}

test("the main pages of both portals have no serious accessibility violation, light or dark", async () => {
  const { api, browser, eventually, signIn, sendFrames } = stack;
  const client = await api("POST", "/api/clients", { name: "Access Ltd", email: "ops@access.example", phone: "+44 20 7946 0001" });
  const site = await api("POST", "/api/sites", { clientId: client.id, name: "Access Depot", address: "5 Ramp Road" });
  const camera = await api("POST", `/api/sites/${site.id}/cameras`, { name: "Ramp camera" });
  await api("POST", `/api/sites/${site.id}/alarms`, { name: "Ramp siren" });
  const frames = readdirSync(join(root, "target/demo-frames")).filter((f) => f.endsWith(".jpg")).sort();
  sendFrames(camera, 1, frames.slice(0, 3).map((f) => join(root, "target/demo-frames", f)));
  const intrusion = await eventually("an intrusion", async () => {
    const list = await api("GET", `/api/intrusions?cameraId=${camera.id}`);
    return list.items[0];
  });

  // A site erased, for the erasure pages.
  const spare = await api("POST", "/api/sites", { clientId: client.id, name: "Spare Depot", address: "6 Ramp Road" });
  const erasure = await api("POST", `/api/sites/${spare.id}/erase`);

  const pages = {
    admin: [
      "/manage", "/manage/clients", `/manage/clients/${client.id}`, `/manage/sites/${site.id}`,
      "/manage/intrusions", `/manage/intrusions/${intrusion.id}`, "/manage/notifications", "/manage/health", "/manage/audit",
      `/manage/sites/${site.id}/arming`, `/manage/sites/${site.id}/escalation`, `/manage/cameras/${camera.id}`,
      "/manage/erasures", `/manage/erasures/${erasure.id}`,
    ],
    [`client:${client.id}`]: [
      "/", "/intrusions", `/intrusions/${intrusion.id}`, "/preferences", "/audit",
      `/sites/${site.id}/arming`, `/sites/${site.id}/escalation`, `/cameras/${camera.id}`,
    ],
  };
  const problems = [];
  for (const colorScheme of ["light", "dark"]) {
    for (const [account, paths] of Object.entries(pages)) {
      // The portals allow no inline script (CSP); axe is let in for the scan only.
      const page = await (await browser.newContext({ colorScheme, bypassCSP: true })).newPage();
      await signIn(page, account, paths[0]);
      for (const path of paths) {
        const answer = await page.goto(`${stack.base}${path}`);
        assert.equal(answer.status(), 200, `${path} as ${account}`);
        for (const line of await violations(page)) problems.push(`${colorScheme} ${path}: ${line}`);
      }
      await page.context().close();
    }
  }
  assert.deepEqual(problems, []);
});
