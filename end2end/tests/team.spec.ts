// Running the team from the console: an admin invites a viewer, who signs
// in with the one-time password, must choose their own, and then sees
// everything read-only and no credentials; a member makes and revokes an
// API token; the admin reads every credential reveal in the audit log.
import { expect, test } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { memberState } from "../accounts";
import { SignInPage } from "./pages/accounts-pages";
import { DatabasesPage } from "./pages/databases-page";

const out = (name: string) => path.join(__dirname, "..", "output", name);

function token(): string {
  return fs.readFileSync(path.join(process.env.PGFLEET_E2E_HOME!, "admin-token"), "utf8").trim();
}

test("an invited viewer chooses a password and sees no credentials", async ({ page, browser, request }) => {
  const made = await request.post("/api/v1/databases", {
    headers: { Authorization: `Bearer ${token()}` },
    data: { name: "reports" },
  });
  expect(made.status()).toBe(202);

  // The admin invites vic as a viewer.
  await page.goto("/team");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await page.getByTestId("invite-name").fill("vic");
  await page.getByTestId("invite-role").selectOption("viewer");
  await page.getByTestId("invite-submit").click();
  const once = (await page.getByTestId("one-time-password").textContent())!.trim();
  expect(once.length).toBeGreaterThanOrEqual(16);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.getByTestId("copy-password").click();
  await expect(page.getByTestId("copy-password")).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(once);

  // The last admin cannot stop being one: the select goes back, and says why.
  const adminRole = page.getByTestId("user-admin").getByTestId("role-select");
  await adminRole.selectOption("member");
  await expect(page.getByTestId("user-admin").getByTestId("role-error")).toContainText("last admin");
  await expect(adminRole).toHaveValue("admin");
  await expect(page.getByTestId("user-vic")).toContainText("(invited)");
  await page.screenshot({ path: out("team.png"), fullPage: true });

  // vic signs in and must choose a password first.
  const vic = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const vicPage = await vic.newPage();
  await vicPage.goto("/");
  await new SignInPage(vicPage).signIn("vic", once);
  await expect(vicPage.getByRole("heading", { name: "Choose your password" })).toBeVisible();
  await vicPage.getByTestId("password-current").fill(once);
  await vicPage.getByTestId("password-new").fill("short");
  await vicPage.getByTestId("password-repeat").fill("short");
  await vicPage.getByTestId("password-submit").click();
  await expect(vicPage.getByTestId("password-error")).toContainText("at least 10 characters");
  await vicPage.getByTestId("password-new").fill("vic's own password");
  await vicPage.getByTestId("password-repeat").fill("vic's own password");
  await vicPage.getByTestId("password-submit").click();

  // Read-only: no Create, Follow or Fork; no credentials, no Destroy.
  const dbs = new DatabasesPage(vicPage);
  await expect(dbs.heading).toBeVisible();
  await dbs.waitForHydration();
  await expect(dbs.phase("reports")).toHaveText(/available/, { timeout: 60_000 });
  await expect(vicPage.getByTestId("create-database")).toHaveCount(0);
  await expect(dbs.row("reports").getByRole("button")).toHaveCount(0);
  await dbs.row("reports").getByTestId("db-link").click();
  await expect(vicPage.getByTestId("no-credentials")).toHaveText("Viewers never see credentials.");
  await expect(vicPage.getByTestId("destroy")).toHaveCount(0);
  await vic.close();
});

test("a member makes and revokes a token; the admin audits credential reveals", async ({ page, browser }) => {
  const member = await browser.newContext({ storageState: memberState });
  const memberPage = await member.newPage();
  await memberPage.goto("/tokens");
  await expect(memberPage.locator("html")).toHaveAttribute("data-hydrated", "true");
  await memberPage.getByTestId("token-name").fill("laptop CLI");
  await memberPage.getByTestId("token-create").click();
  const secret = (await memberPage.getByTestId("token-value").textContent())!.trim();
  await member.grantPermissions(["clipboard-read", "clipboard-write"]);
  await memberPage.getByTestId("copy-token").click();
  await expect(memberPage.getByTestId("copy-token")).toHaveText("Copied");
  expect(await memberPage.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  const me = await memberPage.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${secret}` } });
  expect((await me.json()).name).toBe("mia");
  await memberPage.getByTestId("tokens").locator("tr", { hasText: "laptop CLI" }).getByTestId("revoke").click();
  await expect(memberPage.getByTestId("tokens").locator("tr", { hasText: "laptop CLI" })).toContainText("revoked");
  const after = await memberPage.request.get("/api/v1/me", { headers: { Authorization: `Bearer ${secret}` } });
  expect(after.status()).toBe(401);

  // The member reveals an unprotected database's URL; the admin sees it audited.
  await memberPage.goto("/databases/reports");
  await expect(memberPage.locator("html")).toHaveAttribute("data-hydrated", "true");
  await memberPage.getByTestId("reveal").click();
  await expect(memberPage.getByTestId("url")).toContainText("postgres://");
  // Its parts for a GUI client, a psql command and the DATABASE_URL line.
  const url = (await memberPage.getByTestId("url").textContent())!.trim();
  const parsed = new URL(url);
  await expect(memberPage.getByTestId("part-host")).toHaveText(parsed.hostname);
  await expect(memberPage.getByTestId("part-port")).toHaveText(parsed.port);
  await expect(memberPage.getByTestId("part-database")).toHaveText(parsed.pathname.slice(1));
  await expect(memberPage.getByTestId("part-user")).toHaveText(decodeURIComponent(parsed.username));
  await expect(memberPage.getByTestId("part-password")).toHaveText(decodeURIComponent(parsed.password));
  await expect(memberPage.getByTestId("env-line")).toHaveText(`DATABASE_URL=${url}`);
  await memberPage.getByTestId("copy-psql").click();
  await expect(memberPage.getByTestId("copy-psql")).toHaveText("Copied");
  expect(await memberPage.evaluate(() => navigator.clipboard.readText())).toBe(`psql "${url}"`);
  await member.close();

  await page.goto("/audit");
  const reveal = page.getByTestId("audit").locator("tr", { hasText: "credentials.reveal" }).filter({ hasText: "mia" });
  await expect(reveal.first()).toContainText("reports");
  await expect(reveal.first()).toContainText("ok");
  await page.screenshot({ path: out("audit.png"), fullPage: true });
});
