// Public status from a stranger's side: another site (another origin, here
// another port) embeds /embed/{name} in an iframe and sees the database's
// state change live; /status shows public databases only.
import { expect, test, type APIRequestContext } from "@playwright/test";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

const out = (name: string) => path.join(__dirname, "..", "output", name);
const stranger = { storageState: { cookies: [], origins: [] } };

function auth() {
  const token = fs.readFileSync(path.join(process.env.PGFLEET_E2E_HOME!, "admin-token"), "utf8").trim();
  return { Authorization: `Bearer ${token}` };
}

async function availableDatabase(request: APIRequestContext, name: string, isPublic: boolean) {
  const made = await request.post("/api/v1/databases", { headers: auth(), data: { name } });
  expect(made.status()).toBe(202);
  await expect
    .poll(async () => (await (await request.get(`/api/v1/databases/${name}`, { headers: auth() })).json()).phase, {
      timeout: 60_000,
    })
    .toBe("available");
  if (isPublic) {
    const r = await request.patch(`/api/v1/databases/${name}`, { headers: auth(), data: { public: true } });
    expect(r.status()).toBe(200);
  }
}

/** A page on another origin that embeds `src`; closed by the caller. */
async function hostPage(src: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!DOCTYPE html><html><body><h1>Acme status</h1>
      <iframe id="widget" title="database status" src="${src}" width="480" height="90"></iframe></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

test("a widget embedded on another origin follows the database live", async ({ browser, request, baseURL }) => {
  await availableDatabase(request, "pulse", true);
  const host = await hostPage(`${baseURL}/embed/pulse`);
  const context = await browser.newContext(stranger);
  try {
    const page = await context.newPage();
    await page.goto(host.url);
    const widget = page.frameLocator("#widget");
    const root = widget.locator("[data-status-root]");
    await expect(root).toHaveAttribute("data-state", "available");
    await expect(root).toHaveAttribute("data-live", "true");
    await expect(widget.locator('[data-component="pulse"]')).toContainText("available");
    // It really is another origin's page around pgfleet's frame.
    const frame = page.frames().find((f) => f.url().includes("/embed/pulse"))!;
    expect(new URL(frame.url()).origin).not.toBe(new URL(host.url).origin);
    await page.screenshot({ path: out("embed-on-another-site.png") });

    // The database changes phase; the widget follows without a reload.
    const gone = await request.delete("/api/v1/databases/pulse", { headers: auth() });
    expect(gone.status()).toBe(202);
    await expect(root).toHaveAttribute("data-state", /^(deleting|unknown)$/);
    expect(page.url()).toBe(host.url);
  } finally {
    await context.close();
    await host.close();
  }
});

test("the public status page lists public databases only", async ({ browser, request }) => {
  await availableDatabase(request, "storefront", true);
  await availableDatabase(request, "payroll", false);
  const context = await browser.newContext(stranger);
  const page = await context.newPage();
  await page.goto("/status");
  await expect(page.getByRole("heading", { name: "Database status" })).toBeVisible();
  await expect(page.locator('[data-component="storefront"]')).toContainText("available");
  // Uptime counts from its first availability, and the day shows as bars.
  await expect(page.locator('[data-component="storefront"]').getByTestId("uptime")).toContainText(/% since \d+ (s|min) ago/);
  await expect(page.locator('[data-component="storefront"]').locator(".bar")).toHaveCount(24);
  // The hour it became available (and the next, if the test crossed one).
  expect(await page.locator('[data-component="storefront"]').locator(".bar-operational").count()).toBeGreaterThanOrEqual(1);
  await expect(page.getByTestId("updated")).toContainText("Last updated");
  await expect(page.locator("[data-status-root]")).toHaveAttribute("data-live", "true");
  await expect(page.locator('[data-component="payroll"]')).toHaveCount(0);
  expect(await page.content()).not.toContain("payroll");
  const badge = await request.get("/badge/payroll.svg");
  expect(badge.status()).toBe(404);
  await page.screenshot({ path: out("status-page.png"), fullPage: true });
  await context.close();
});
