// The Insights tab against a real pgfleet under pgbench: charts of the
// sampled metrics with axes and legends, moving live as samples arrive,
// hover values, the range switch, the top queries, the sessions with
// Terminate, and a screenshot.
import { expect, test } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { axe } from "./pages/axe";
import { auth, available } from "./pages/fleet-api";

const out = (name: string) => path.join(__dirname, "..", "output", name);
const pgbench = "/usr/lib/postgresql/15/bin/pgbench";
const psql = "/usr/lib/postgresql/15/bin/psql";

test("the Insights tab charts the database's metrics live", async ({ page, request }) => {
  await available(request, { name: "gauge" });
  const url = (await (await request.get("/api/v1/databases/gauge/credentials", { headers: auth() })).json()).url;
  let load: ChildProcess | undefined;
  let sleeper: ChildProcess | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const init = spawn(pgbench, ["-i", "-q", "-s", "1", url], { stdio: "ignore" });
      init.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`pgbench -i exited ${code}`))));
    });
    load = spawn(pgbench, ["-n", "-c", "2", "-R", "50", "-T", "300", url], { stdio: "ignore" });

    await page.goto("/databases/gauge?tab=insights");
    await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
    await expect(page.getByRole("link", { name: "Insights" })).toHaveAttribute("aria-current", "page");
    const tx = page.getByTestId("chart-transactions");
    await expect(tx).toBeVisible();
    await expect(page.getByTestId("chart-connections")).toBeVisible();
    await expect(page.getByTestId("chart-cache")).toBeVisible();
    // pgbench commits about 50 a second, which the legend reads once sampled.
    await expect(tx.locator(".legend")).toHaveText(/Commits [1-9]\d*(\.\d)?\/s/, { timeout: 60_000 });
    await expect(tx.locator("text.axis").last()).toHaveText("now");
    // Live: the line grows as samples arrive on the stream, without a reload.
    const line = tx.getByTestId("chart-line").first();
    const before = (await line.getAttribute("d")) ?? "";
    await expect.poll(async () => ((await line.getAttribute("d")) ?? "").length, { timeout: 60_000 }).toBeGreaterThan(
      before.length,
    );
    // Hovering reads the values at that time.
    const box = (await tx.locator("svg").boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.99, box.y + box.height / 2);
    await expect(tx.locator(".chart-readout")).toHaveText(/^\d\d:\d\d:\d\d: .*Commits \d/);

    // pgbench's statements lead the top queries; a slow one is found
    // among the sessions and terminated from the page.
    const top = page.getByTestId("statement-list");
    await expect(top).toContainText("pgbench_accounts", { timeout: 30_000 });
    await page.getByTestId("top-queries").getByRole("button", { name: "Calls" }).click();
    await expect(page.getByTestId("top-queries").getByRole("button", { name: "Calls" })).toHaveAttribute(
      "aria-pressed",
      "true",
    );
    await expect(top).toContainText("pgbench");
    sleeper = spawn(psql, [url, "-c", "select pg_sleep(600) /* waits */"], { stdio: "ignore" });
    const slow = page.getByTestId("session-list").locator("tr", { hasText: "pg_sleep(600)" });
    await expect(slow).toHaveCount(1, { timeout: 30_000 });
    await expect(slow.locator("td").nth(2)).toHaveText("active");

    // The Diagnose card: every check in words, the connections green;
    // the Sizes card lists pgbench's tables, largest first.
    const findings = page.getByTestId("findings").locator("li");
    await expect(findings).toHaveCount(11);
    const connections = page.getByTestId("findings").locator('li[data-check="Connections"]');
    await expect(connections).toHaveAttribute("data-status", "green");
    await expect(connections.locator(".badge")).toHaveText("Green");
    await expect(page.getByTestId("findings").locator('li[data-check="FollowerLag"] .badge')).toHaveText("Skipped");
    await expect(page.getByTestId("table-sizes").locator("tbody tr").first()).toContainText("public.pgbench_accounts");
    await expect(page.getByTestId("index-sizes")).toContainText("pgbench_accounts_pkey");
    await expect(page.getByTestId("diagnose-overall")).toHaveText(/^Checked at \d\d:\d\d:\d\d UTC: (Green|Yellow|Red)\.$/);
    await page.screenshot({ path: out("insights.png"), fullPage: true });
    await axe(page, "the Insights tab");
    const pid = await slow.getAttribute("data-pid");
    const gone = new Promise<number | null>((resolve) => sleeper!.on("exit", (code) => resolve(code)));
    await slow.getByRole("button", { name: `Terminate session ${pid}` }).click();
    await expect(page.getByTestId("diagnostics-said")).toHaveText(`Session ${pid} terminated.`);
    await expect(slow).toHaveCount(0);
    // psql saw its connection ended, not its query finished.
    expect(await gone).not.toBe(0);

    // Another range fetches its window.
    await page.getByRole("button", { name: "24 h" }).click();
    await expect(page.getByRole("button", { name: "24 h" })).toHaveAttribute("aria-pressed", "true");
    await expect(tx.locator("text.axis").first()).toHaveText(/^0/);
    await expect(tx.locator("text.axis", { hasText: "-24 h" })).toHaveCount(1);
    await expect(tx.getByTestId("chart-line").first()).toHaveAttribute("d", /M/);

    // Back to the overview.
    await page.getByRole("link", { name: "Overview" }).click();
    await expect(page.getByTestId("info")).toBeVisible();
    await expect(page.getByTestId("insights")).toHaveCount(0);
  } finally {
    load?.kill();
    sleeper?.kill();
    await request.delete("/api/v1/databases/gauge", { headers: auth() });
  }
});
