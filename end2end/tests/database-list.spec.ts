// The databases list: search and filters by name, state and role, keyed
// rows (an event about one database changes its row's elements and leaves
// the others untouched) and the lag column; then a database's
// page: its Follow and Fork, the lag chart, and the lineage a promotion
// leaves.
import { expect, test } from "@playwright/test";
import * as path from "node:path";
import { DatabasesPage } from "./pages/databases-page";
import { auth, available } from "./pages/fleet-api";

const out = (name: string) => path.join(__dirname, "..", "output", name);

test("search and filters narrow the list; an event re-renders only its own row", async ({ page, request }) => {
  test.setTimeout(300_000);
  await available(request, { name: "list-alpha" });
  await available(request, { name: "list-beta" });
  await available(request, { name: "list-alpha-reader", follow: "list-alpha" });
  const dbs = new DatabasesPage(page);
  await dbs.goto();
  await dbs.waitForHydration();

  await page.getByTestId("filter-name").fill("list-alpha");
  await expect(dbs.row("list-alpha")).toBeVisible();
  await expect(dbs.row("list-alpha-reader")).toBeVisible();
  await expect(dbs.row("list-beta")).toHaveCount(0);

  await page.getByTestId("filter-kind").selectOption("follower");
  await expect(dbs.row("list-alpha-reader")).toBeVisible();
  await expect(dbs.row("list-alpha")).toHaveCount(0);

  await page.getByTestId("filter-kind").selectOption("");
  await page.getByTestId("filter-phase").selectOption("failed");
  await expect(page.getByTestId("no-match")).toBeVisible();
  await page.getByTestId("filter-phase").selectOption("");
  await page.getByTestId("filter-name").fill("");
  await expect(dbs.row("list-beta")).toBeVisible();
  await expect(page.getByTestId("no-match")).toHaveCount(0);

  // Watch both rows, change one database, and see which was touched.
  for (const name of ["list-alpha", "list-beta"]) {
    await dbs.row(name).evaluate((tr, name) => {
      const seen: string[] = ((window as any)[`__changes_${name}`] = []);
      new MutationObserver((m) => seen.push(...m.map((r) => r.type))).observe(tr, {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
    }, name);
  }
  const r = await request.patch("/api/v1/databases/list-beta", { headers: auth(), data: { public: true } });
  expect(r.status()).toBe(200);
  await expect(dbs.row("list-beta").getByTestId("public")).toBeVisible();
  expect(await page.evaluate(() => (window as any)["__changes_list-beta"].length)).toBeGreaterThan(0);
  expect(await page.evaluate(() => (window as any)["__changes_list-alpha"])).toEqual([]);

  // Lag in words: "0 B" only when nothing is left, else how much is behind.
  await expect(dbs.row("list-alpha-reader").getByTestId("lag")).toHaveText(/^(0 B|[\d.]+ [KMGT]?B behind.*)$/);
});

test("a database's page: Follow and Fork, a lag chart with axes, a drawn lock, and lineage after promotion", async ({
  page,
  request,
}) => {
  test.setTimeout(300_000);
  const r = await request.patch("/api/v1/databases/list-alpha", { headers: auth(), data: { protected: true } });
  expect(r.status()).toBe(200);
  const dbs = new DatabasesPage(page);
  await dbs.goto();
  await dbs.waitForHydration();
  await expect(dbs.row("list-alpha").getByTestId("lock-icon")).toBeVisible();

  // The source's page offers what its row offers.
  await dbs.row("list-alpha").getByTestId("db-link").click();
  await expect(page.getByTestId("detail-name")).toHaveText("list-alpha");
  await expect(page.locator(".page-head .title").getByTestId("protected")).toBeVisible();
  await page.locator(".page-head").getByTestId("fork").click();
  await expect(page.getByTestId("create-dialog")).toBeVisible();
  await expect(page.locator("#create-title")).toHaveText("Fork list-alpha");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("create-dialog")).toHaveCount(0);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: out("detail-access-desktop.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  // On a phone the Access card's rows fit the screen.
  const access = await page.getByTestId("access").boundingBox();
  expect(access!.width).toBeLessThanOrEqual(390);
  await page.screenshot({ path: out("detail-access-phone.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });

  // The follower's chart: history from the server, axes, the value now.
  await page.goto("/databases/list-alpha-reader");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const chart = page.getByTestId("lag-chart");
  await expect(chart).toBeVisible();
  await expect(chart.locator("text.axis", { hasText: "-15 min" })).toHaveCount(1);
  await expect(chart.locator("text.axis", { hasText: "now" })).toHaveCount(1);
  await expect(chart.locator("text.axis", { hasText: /B$/ })).toHaveCount(3);
  await expect(page.getByTestId("lag-line")).toHaveCount(1);
  await expect(page.getByTestId("lag-now")).toHaveText(/^Now: (0 B|.+ behind.*)$/);
  // A reload still draws the line: it comes from the server's history.
  await page.reload();
  await expect(page.getByTestId("lag-line")).toHaveCount(1);
  await page.screenshot({ path: out("lag-chart.png"), fullPage: true });

  // Promoted, it keeps whom it followed.
  const promoted = await request.post("/api/v1/databases/list-alpha-reader/promote", { headers: auth() });
  expect(promoted.status()).toBe(202);
  await expect(page.getByTestId("info")).toContainText(/Promotedfollowed list-alpha until \d\d:\d\d UTC/, {
    timeout: 120_000,
  });
  await dbs.goto();
  await expect(dbs.row("list-alpha-reader").getByTestId("lineage-text")).toHaveText(/^followed list-alpha until /);
});
