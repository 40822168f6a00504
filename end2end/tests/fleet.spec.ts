// The console against a real pgfleet and real PostgreSQL: create, fork,
// follow, promote, destroy, an error, and screenshots at two widths.
import { expect, test, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DatabasesPage, DetailPage } from "./pages/databases-page";

const out = (name: string) => path.join(__dirname, "..", "output", name);

function token(): string {
  return fs.readFileSync(path.join(process.env.PGFLEET_E2E_HOME!, "admin-token"), "utf8").trim();
}

async function credentials(page: Page, name: string): Promise<string> {
  const r = await page.request.get(`/api/v1/databases/${name}/credentials`, {
    headers: { Authorization: `Bearer ${token()}` },
  });
  expect(r.ok()).toBeTruthy();
  return (await r.json()).url;
}

/** Records every text a database's phase badge shows, from now on. */
async function recordPhases(page: Page, name: string) {
  await page.evaluate((name) => {
    const seen: string[] = ((window as any).__phases ??= {})[name] = [];
    const look = () => {
      const badge = document.querySelector(`[data-testid="db-${name}"] [data-testid="phase"]`);
      const text = badge?.textContent?.replace(/[^a-z ]/g, "").trim();
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
    look();
  }, name);
}

async function phasesSeen(page: Page, name: string): Promise<string[]> {
  return page.evaluate((name) => (window as any).__phases[name], name);
}

test.describe.configure({ mode: "serial" });

test("create, fork with live progress, follow, promote, destroy", async ({ page }) => {
  let navigations = 0;
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  const dbs = new DatabasesPage(page);
  await dbs.goto();
  await dbs.waitForHydration();

  // Create.
  await dbs.create("prod");
  await expect(dbs.dialog.root).toBeHidden();
  await expect(dbs.phase("prod")).toHaveText(/available/, { timeout: 60_000 });
  await expect(dbs.row("prod").getByTestId("plan")).toHaveText("mini");

  // Some data, so the fork's copy takes long enough to watch.
  execFileSync("/usr/lib/postgresql/15/bin/pgbench", ["-i", "-q", "-s", "25", await credentials(page, "prod")], { stdio: "ignore" });

  // Fork from its button: a progress bar with bytes, then available.
  await dbs.fork("prod", "trial");
  await expect(dbs.row("trial").getByTestId("progress-text")).toHaveText(/\d+(\.\d)? [KMG]?B \/ \d+(\.\d)? [KMG]?B/, { timeout: 60_000 });
  await expect(dbs.phase("trial")).toHaveText(/available/, { timeout: 120_000 });
  await expect(dbs.row("trial").getByTestId("lineage-text")).toHaveText("forked from prod");

  // Follow: catching up, then available, with a lag value.
  await recordPhases(page, "reader");
  await dbs.follow("prod", "reader");
  await expect(dbs.phase("reader")).toHaveText(/available/, { timeout: 120_000 });
  expect(await phasesSeen(page, "reader")).toEqual(expect.arrayContaining(["provisioning", "catching up", "available"]));
  await expect(dbs.row("reader").getByTestId("lag")).toHaveText(/^(0 B|.+ behind.*)$/, { timeout: 30_000 });
  await expect(dbs.row("reader").getByTestId("role")).toHaveText("follower");
  expect(navigations).toBe(1);

  // The source's detail page shows its fork and follower in the lineage.
  const detail = new DetailPage(page);
  await detail.goto("prod");
  await expect(page.getByTestId("lineage")).toContainText("trial (fork)");
  await expect(page.getByTestId("lineage")).toContainText("reader (follower)");
  await page.getByTestId("reveal").click();
  await expect(page.getByTestId("url")).toHaveText(/^postgres:\/\//);
  // Rotating hides the old URL; revealing again shows the new password.
  const before = await page.getByTestId("url").textContent();
  await page.getByTestId("rotate").click();
  await expect(page.getByTestId("rotate-dialog")).toBeVisible();
  await page.getByTestId("keep-sessions").check();
  await page.getByTestId("rotate-confirm").click();
  await expect(page.getByTestId("rotate-dialog")).toHaveCount(0);
  await expect(page.getByTestId("credentials-note")).toHaveText(/rotated.*open sessions were kept/i);
  await expect(page.getByTestId("url")).toHaveCount(0);
  await page.getByTestId("reveal").click();
  await expect(page.getByTestId("url")).toHaveText(/^postgres:\/\//);
  await expect(page.getByTestId("credentials-note")).toHaveCount(0);
  expect(await page.getByTestId("url").textContent()).not.toBe(before);

  // Roles: a read-only role reads but cannot write; rotate; remove.
  const roles = page.getByTestId("roles");
  await expect(roles.getByTestId("no-roles")).toBeVisible();
  await roles.getByTestId("role-name").fill("analyst");
  await roles.getByTestId("role-add").click();
  await expect(roles.getByTestId("role-url")).toHaveText(/^postgres:\/\/analyst:/);
  await expect(roles.getByTestId("role-analyst")).toContainText("read-only");
  const roleUrl = (await roles.getByTestId("role-url").textContent())!;
  const psqlAs = (url: string, sql: string) =>
    execFileSync("/usr/lib/postgresql/15/bin/psql", [url, "-Atc", sql], { encoding: "utf8", stdio: "pipe" }).trim();
  expect(psqlAs(roleUrl, "SELECT count(*) > 0 FROM pgbench_branches")).toBe("t");
  expect(() => psqlAs(roleUrl, "DELETE FROM pgbench_history")).toThrow(/permission denied/);
  await roles.getByTestId("role-analyst").getByTestId("role-rotate").click();
  await expect(roles.getByTestId("role-url")).toHaveText(/^postgres:\/\/analyst:/);
  await expect(roles.getByTestId("role-url")).not.toHaveText(roleUrl);
  expect(() => psqlAs(roleUrl, "SELECT 1")).toThrow(/password authentication failed/);
  await roles.getByTestId("role-analyst").getByTestId("role-remove").click();
  await roles.getByTestId("role-analyst").getByTestId("role-remove-confirm").click();
  await expect(roles.getByTestId("role-analyst")).toHaveCount(0);
  await expect(roles.getByTestId("no-roles")).toBeVisible();
  await expect(roles.getByTestId("role-url")).toHaveCount(0);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: out("detail-desktop.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: out("detail-phone.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });

  // Promote the follower.
  await detail.goto("reader");
  await expect(page.getByTestId("lag-chart")).toBeVisible();
  await page.getByTestId("promote").click();
  await expect(page.getByTestId("promote-dialog")).toBeVisible();
  await page.getByTestId("promote-confirm").click();
  await expect(detail.info()).toContainText("primary", { timeout: 60_000 });
  await expect(detail.phase()).toHaveText(/available/);

  // Reset the fork from its source: a row written in it is gone after,
  // and its URL is the same.
  await detail.goto("trial");
  await page.getByTestId("reveal").click();
  const trialUrl = (await page.getByTestId("url").textContent())!;
  psqlAs(trialUrl, "CREATE TABLE only_in_the_fork (i int)");
  await page.getByTestId("reset").click();
  await expect(page.getByTestId("reset-confirm")).toBeDisabled();
  await page.getByTestId("reset-confirm-input").fill("trial");
  await page.getByTestId("reset-confirm").click();
  await expect(page.getByTestId("reset-dialog")).toHaveCount(0);
  await expect(detail.phase()).toHaveText(/provisioning/);
  await expect(detail.phase()).toHaveText(/available/, { timeout: 120_000 });
  expect(psqlAs(trialUrl, "SELECT count(*) FROM pg_class WHERE relname = 'only_in_the_fork'")).toBe("0");

  // Destroy the fork with the type-to-confirm dialog.
  await page.getByTestId("destroy").click();
  await expect(page.getByTestId("destroy-confirm")).toBeDisabled();
  await page.getByTestId("destroy-confirm-input").fill("trial");
  await page.getByTestId("destroy-confirm").click();
  await expect(page).toHaveURL(/\/$/);
  await expect(dbs.row("trial")).toHaveCount(0, { timeout: 60_000 });

  await dbs.goto();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: out("databases-desktop.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: out("databases-phone.png"), fullPage: true });
});

test("a taken name is explained in the dialog", async ({ page }) => {
  const dbs = new DatabasesPage(page);
  await dbs.goto();
  await dbs.waitForHydration();
  await page.getByTestId("create-database").click();
  await dbs.dialog.submit("prod");
  await expect(dbs.dialog.error).toHaveText("the name prod is taken");
  await expect(dbs.dialog.root).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(dbs.dialog.root).toBeHidden();
});

test("backups on the page, and a fork of a past moment from the dialog", async ({ page }) => {
  // The first full backup of the 400 MB source runs while the test before
  // loads and copies it: minutes on two busy cores.
  test.setTimeout(600_000);
  const detail = new DetailPage(page);
  await detail.goto("prod");
  const card = page.getByTestId("backups");
  // Its first full backup gives it a restore window.
  await expect(page.getByTestId("restore-window-line")).toHaveText(/Fork from any moment from .* UTC to .* UTC/, { timeout: 400_000 });
  await expect(card.getByTestId("backup-list").locator("tbody tr")).toHaveCount(1, { timeout: 60_000 });
  await expect(card.getByTestId("backup-list")).toContainText("full");
  await expect(page.getByTestId("archiving")).toContainText("WAL archived");

  // Back up now: a second row once it is taken.
  await page.getByTestId("capture-backup").click();
  await expect(card.getByTestId("backup-list").locator("tbody tr")).toHaveCount(2, { timeout: 120_000 });

  // Mark a moment, write after it, and fork the moment from the dialog.
  const url = await credentials(page, "prod");
  const psql = (sql: string) =>
    execFileSync("/usr/lib/postgresql/15/bin/psql", [url, "-Atc", sql], { encoding: "utf8" }).trim();
  psql("CREATE TABLE marks (i int); INSERT INTO marks VALUES (1)");
  const moment = new Date(psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC' + interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"));
  // Past the moment (whole seconds in the dialog) before the next write.
  await expect.poll(() => Date.now() > moment.getTime() + 200, { timeout: 5_000 }).toBeTruthy();
  psql("INSERT INTO marks VALUES (2)");

  const dbs = new DatabasesPage(page);
  await dbs.goto();
  await dbs.waitForHydration();
  await dbs.row("prod").getByTestId("fork").click();
  await expect(page.getByTestId("restore-window")).toContainText("can be forked from any moment");
  await page.getByTestId("fork-at-moment").check();
  await page.getByTestId("fork-at").fill(moment.toISOString().slice(0, 19));
  await dbs.dialog.submit("then");
  await expect(dbs.phase("then")).toHaveText(/available/, { timeout: 120_000 });
  await detail.goto("then");
  await expect(detail.info()).toContainText("Forked as of");
  const then = await credentials(page, "then");
  const rows = execFileSync("/usr/lib/postgresql/15/bin/psql", [then, "-Atc", "SELECT string_agg(i::text, ',' ORDER BY i) FROM marks"], { encoding: "utf8" }).trim();
  expect(rows).toBe("1");

  // A moment in the future is explained in the dialog.
  await dbs.goto();
  await dbs.waitForHydration();
  await dbs.row("prod").getByTestId("fork").click();
  await page.getByTestId("fork-at-moment").check();
  await page.getByTestId("fork-at").fill(new Date(Date.now() + 3_600_000).toISOString().slice(0, 19));
  await dbs.dialog.submit("later");
  await expect(dbs.dialog.error).toContainText("in the future");
  await page.keyboard.press("Escape");
  await page.setViewportSize({ width: 1280, height: 900 });
  await detail.goto("prod");
  await page.screenshot({ path: out("backups-desktop.png"), fullPage: true });
});
