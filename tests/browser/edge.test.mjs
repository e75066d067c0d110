// A real camera's path to the portal: GStreamer's RTSP server plays the
// pedestrian footage, `seccom camera run --rtsp` connects it as the edge agent
// does, and the client's user sees the intrusion and plays its clip (the
// camera's own H.264 recording, moov first) in Chromium.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { root, startStack } from "./support.mjs";

let stack;
let rtsp;

function freePort() {
  return new Promise((ok) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

before(async () => {
  stack = await startStack(["CLIP_PRE_ROLL_SECONDS=3", "CLIP_POST_ROLL_SECONDS=3"]);
});

after(async () => {
  rtsp?.kill();
  await stack?.stop();
});

test("a client sees the intrusion an RTSP camera raised and plays its recording", async () => {
  const { base, api, browser, eventually, signIn, shot, start } = stack;
  const port = await freePort();
  rtsp = spawn("/usr/bin/python3", [
    join(root, "tests/rtsp/serve.py"), String(port), `pedestrians=${join(root, "target/rtsp-media/pedestrians.mp4")}`,
  ]);
  await new Promise((ok, fail) => {
    rtsp.stdout.on("data", (chunk) => String(chunk).includes("ready") && ok());
    rtsp.once("exit", (code) => fail(new Error(`the RTSP server exited with ${code}`)));
  });
  const client = await api("POST", "/api/clients", { name: "Streamed Ltd", email: "ops@streamed.example" });
  const site = await api("POST", "/api/sites", { clientId: client.id, name: "Loading Bay", address: "4 Wharf Road" });
  const camera = await api("POST", `/api/sites/${site.id}/cameras`, { name: "Bay camera" });
  // Disarmed for the first seconds, as if the camera had been recording long before the intrusion.
  await api("PUT", `/api/sites/${site.id}/arming`, { mode: "disarmed" });
  await start([
    "camera", "run", "--api", base, "--camera-id", camera.id, "--key", camera.credential,
    "--rtsp", `rtsp://127.0.0.1:${port}/pedestrians`, "--heartbeat-seconds", "1",
    "--buffer-dir", mkdtempSync(join(tmpdir(), "seccom-edge-")),
  ]);
  await new Promise((ok) => setTimeout(ok, 6000));
  await api("PUT", `/api/sites/${site.id}/arming`, { mode: "armed" });
  const intrusion = await eventually("an intrusion with its clip", async () => {
    const list = await api("GET", `/api/intrusions?cameraId=${camera.id}`);
    const id = list.items[0]?.id;
    if (!id) return null;
    const detail = await api("GET", `/api/intrusions/${id}`);
    return detail.clip?.state === "stored" ? detail : null;
  }, 90);

  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  await signIn(page, `client:${client.id}`, "/intrusions");
  await page.click(`a[href='/intrusions/${intrusion.id}']`);
  assert.ok(await page.isVisible("strong:text-is('Bay camera')"), "the intrusion names its camera");
  const duration = await page.waitForFunction(() => {
    const video = document.querySelector("video");
    return video && video.readyState >= 1 && video.duration > 0 ? video.duration : false;
  });
  assert.ok((await duration.jsonValue()) >= 6, "the clip covers the 6 s window");
  await page.evaluate(() => document.querySelector("video").play());
  await page.waitForFunction(() => document.querySelector("video").currentTime > 0.5);
  await shot(page, "client-intrusion-from-rtsp");
  await context.close();
});
