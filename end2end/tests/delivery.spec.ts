// How the console reaches a browser: that a cold load of the databases page
// stays within 300 KB on the wire (the console is split by page, so the other
// pages' code is not part of it), that what is served is compressed and the
// hashed files are kept, and that a press made before the WASM has loaded is
// not lost. How long a slow link waits for a live console is reported in
// end2end/output, not asserted.
import { expect, test, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { DatabasesPage } from "./pages/databases-page";

const out = (name: string) => path.join(__dirname, "..", "output", name);

/** The bytes on the wire (headers and compressed bodies) of every response. */
async function countBytes(page: Page): Promise<() => { total: number; byUrl: Map<string, number> }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const urls = new Map<string, string>();
  const byUrl = new Map<string, number>();
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.loadingFinished", (e) => {
    const url = urls.get(e.requestId) ?? e.requestId;
    byUrl.set(url, (byUrl.get(url) ?? 0) + e.encodedDataLength);
  });
  return () => ({ total: [...byUrl.values()].reduce((a, b) => a + b, 0), byUrl });
}

test("a cold load of the databases page is under 300 KB, compressed, with hashed files kept a year", async ({ page }) => {
  const responses: { url: string; encoding: string; cache: string; type: string }[] = [];
  page.on("response", (r) => {
    const h = r.headers();
    responses.push({ url: r.url(), encoding: h["content-encoding"] ?? "", cache: h["cache-control"] ?? "", type: h["content-type"] ?? "" });
  });
  const bytes = await countBytes(page);
  const dbs = new DatabasesPage(page);
  await dbs.goto();
  await dbs.waitForHydration();
  const { total, byUrl } = bytes();
  const report = [...byUrl].map(([u, n]) => `${(n / 1024).toFixed(1)} KiB ${u}`).join("\n");
  fs.writeFileSync(out("cold-load.txt"), `${total} bytes\n${report}\n`);
  console.log(`cold load of the databases page: ${total} bytes on the wire`);
  expect(total, `a cold load of the databases page is ${total} bytes:\n${report}`).toBeLessThanOrEqual(300_000);
  // The other pages' parts are not fetched for this one.
  expect([...byUrl.keys()].filter((u) => /\/pkg\/(split|chunk)_/.test(u))).toEqual([]);

  const page_ = responses.find((r) => new URL(r.url).pathname === "/")!;
  expect(page_.encoding).toBe("br");
  expect(page_.cache).toBe("no-cache");
  const files = responses.filter((r) => new URL(r.url).pathname.startsWith("/pkg/"));
  expect(files.map((f) => path.extname(new URL(f.url).pathname)).sort()).toEqual(expect.arrayContaining([".css", ".js", ".wasm"]));
  for (const f of files) {
    expect(new URL(f.url).pathname, f.url).toMatch(/^\/pkg\/[\w-]+\.[0-9a-f]{16}\.(wasm|js|css)$/);
    expect(f.encoding, f.url).toBe("br");
    expect(f.cache, f.url).toBe("public, max-age=31536000, immutable");
  }
});

test("another page's code is its own part: preloaded by its HTML, fetched on the way there, and live", async ({ page }) => {
  const fetched: string[] = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  // Rendered by the server: the HTML names the team page's part and its loader.
  await page.goto("/team");
  const preloads = await page.locator('link[rel="preload"][href*="/pkg/split_"]').evaluateAll((links) =>
    links.map((l) => l.getAttribute("href")!),
  );
  expect(preloads.some((href) => /\/pkg\/split___team_route_view_\d+\.[0-9a-f]{16}\.wasm$/.test(href)), preloads.join("\n")).toBe(true);
  await expect(page.locator('link[rel="modulepreload"][href^="/pkg/__wasm_split."]')).toHaveCount(1);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("invite-submit")).toBeEnabled();

  // Reached from the list: the tokens page's part is fetched only then, and
  // the page is drawn in the browser from it.
  fetched.length = 0;
  const dbs = new DatabasesPage(page);
  await dbs.goto();
  await dbs.waitForHydration();
  expect(fetched.filter((p) => p.includes("tokens_route"))).toEqual([]);
  await page.getByRole("link", { name: "Tokens" }).click();
  await expect(page.getByTestId("token-name")).toBeVisible();
  expect(fetched.filter((p) => /^\/pkg\/split___tokens_route_view_/.test(p))).toHaveLength(1);
});

test("a press on Create made before the WASM has loaded opens the dialog once it has", async ({ page }) => {
  // The WASM is held back until the press has been made.
  let release!: () => void;
  const pressed = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\/pkg\/.*\.wasm$/, async (route) => {
    await pressed;
    await route.continue();
  });
  const dbs = new DatabasesPage(page);
  await dbs.goto();
  await expect(page.locator("html")).not.toHaveAttribute("data-hydrated", "true");
  const create = page.getByTestId("create-database");
  await create.click();
  // Held, and saying so, while the page is not live.
  await expect(create).toHaveAttribute("aria-busy", "true");
  await expect(dbs.dialog.root).toHaveCount(0);
  release();
  await dbs.waitForHydration();
  await expect(dbs.dialog.root).toBeVisible();
  await expect(create).not.toHaveAttribute("aria-busy", "true");
  await expect(dbs.dialog.name).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dbs.dialog.root).toHaveCount(0);
});

test("signing in before the WASM has loaded signs in (nothing typed is put in the URL)", async ({ browser }) => {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  let release!: () => void;
  const pressed = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\/pkg\/.*\.wasm$/, async (route) => {
    await pressed;
    await route.continue();
  });
  const urls: string[] = [];
  page.on("framenavigated", (f) => f === page.mainFrame() && urls.push(f.url()));
  await page.goto("/sign-in");
  await expect(page.getByTestId("stream-status")).toHaveCount(0);
  await page.getByTestId("sign-in-name").fill("admin");
  await page.getByTestId("sign-in-password").fill("e2e admin password");
  await page.getByTestId("sign-in-submit").click();
  release();
  await expect(page.getByRole("heading", { name: "Databases", exact: true })).toBeVisible();
  await expect(page.getByTestId("stream-status")).toHaveText(/live/);
  expect(urls.every((u) => !u.includes("password"))).toBeTruthy();
  await context.close();
});

test("on a slow link (1.6 Mbit/s, 150 ms) the console becomes interactive (reported)", async ({ page }) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1000 * 1000) / 8,
    uploadThroughput: (750 * 1000) / 8,
  });
  const started = Date.now();
  await page.goto("/", { waitUntil: "commit" });
  await expect(page.getByRole("heading", { name: "Databases", exact: true })).toBeVisible({ timeout: 60_000 });
  const painted = Date.now() - started;
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true", { timeout: 90_000 });
  const interactive = Date.now() - started;
  await expect(page.getByTestId("stream-status")).toHaveText(/live/, { timeout: 90_000 });
  const live = Date.now() - started;
  const line = `slow link (1.6 Mbit/s, 150 ms, cache off): first paint ${painted} ms, interactive ${interactive} ms, live ${live} ms`;
  console.log(line);
  fs.writeFileSync(out("slow-link.txt"), `${line}\n`);
});
