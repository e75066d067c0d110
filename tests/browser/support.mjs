// What the browser tests share: a local stack of their own (`seccom local` on
// free ports, in a temporary data directory), tokens and API calls against it,
// Chromium, sign-in through the local ALB stand-in, and screenshots into
// target/browser-artifacts/.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { chromium } from "playwright-core";

export const root = resolve(import.meta.dirname, "../..");
export const seccom = join(root, "target/debug/seccom");
const artifacts = join(root, "target/browser-artifacts");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

async function freePort() {
  // Four consecutive ports: the ALB stand-in, DynamoDB, S3, the identity provider.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const free = await Promise.all(
      [0, 1, 2, 3].map(
        (offset) =>
          new Promise((ok) => {
            const server = createServer();
            server.once("error", () => ok(false));
            server.listen(port + offset, "127.0.0.1", () => server.close(() => ok(true)));
          }),
      ),
    );
    if (free.every(Boolean)) return port;
  }
  throw new Error("no four free consecutive ports");
}

/** Starts a local stack with these `--setting NAME=VALUE`s, and Chromium. */
export async function startStack(settings = []) {
  const dataDir = mkdtempSync(join(tmpdir(), "seccom-browser-"));
  const children = [];
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The Web Push service stand-in, beside the identity provider (the ALB's port + 3).
  const pushService = `http://127.0.0.1:${port + 3}/push-service`;

  function start(args, readyLine) {
    const child = spawn(seccom, args, { cwd: root, env: { ...process.env, RUST_LOG: "warn" } });
    children.push(child);
    let output = "";
    child.stderr.on("data", (chunk) => (output += chunk));
    return new Promise((ok, fail) => {
      child.stdout.on("data", (chunk) => {
        output += chunk;
        if (!readyLine || output.includes(readyLine)) ok(child);
      });
      child.once("exit", (code) => fail(new Error(`seccom ${args[0]} exited with ${code}:\n${output}`)));
      if (!readyLine) ok(child);
    });
  }

  function token(role, clientId) {
    const args = ["token", "--role", role, "--data-dir", dataDir];
    if (clientId) args.push("--client-id", clientId);
    const result = spawnSync(seccom, args, { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.trim();
  }

  async function api(method, path, body, role = "admin", clientId) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token(role, clientId)}`, "content-type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async function eventually(what, check, seconds = 60) {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
      await new Promise((ok) => setTimeout(ok, 300));
    }
  }

  async function signIn(page, account, path) {
    await page.goto(`${base}${path}`);
    assert.match(page.url(), /\/oauth2\/sign-in/);
    await page.selectOption("select[name=account]", account);
    await page.click("button[type=submit]");
    await page.waitForURL(`${base}${path}`);
  }

  async function shot(page, name) {
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  }

  /** Sends frames (paths) as the camera, from sequence number `from`. */
  function sendFrames(camera, from, files, bundle = 1) {
    const send = spawnSync(seccom, [
      "camera", "send", "--api", base, "--camera-id", camera.id, "--key", camera.credential,
      "--from-seq", String(from), "--bundle", String(bundle), ...files,
    ], { encoding: "utf8" });
    assert.equal(send.status, 0, send.stderr);
  }

  const settingArgs = settings.flatMap((setting) => ["--setting", setting]);
  await start(["local", "--port", String(port), "--data-dir", dataDir, ...settingArgs], "Ready.");
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });

  async function stop() {
    await browser.close();
    for (const child of children) child.kill("SIGINT");
  }

  return { base, pushService, dataDir, browser, start, token, api, eventually, signIn, shot, sendFrames, stop };
}
