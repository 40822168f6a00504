// Self-service forks across two browsers: a member requests a fork of a
// protected database, an admin approves it in another browser context, and
// the member watches it become available without reloading.
import { expect, test } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { MEMBER, MEMBER_PASSWORD, adminState, memberState } from "../accounts";
import { RequestDialog, RequestsPage, SignInPage } from "./pages/accounts-pages";
import { DatabasesPage } from "./pages/databases-page";

const out = (name: string) => path.join(__dirname, "..", "output", name);

function token(): string {
  return fs.readFileSync(path.join(process.env.PGFLEET_E2E_HOME!, "admin-token"), "utf8").trim();
}

test("signing in: a wrong password is refused, the right one opens the console", async ({ browser }) => {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  await page.goto("/requests");
  await expect(page).toHaveURL(/\/sign-in\?next=\/requests/);
  const signIn = new SignInPage(page);
  await signIn.signIn(MEMBER, "not the password");
  await expect(signIn.error).toHaveText("wrong name or password");
  await signIn.signIn(MEMBER, MEMBER_PASSWORD);
  await expect(page).toHaveURL(/\/requests$/);
  await expect(page.getByTestId("user-name")).toHaveText(MEMBER);
  await expect(page.getByTestId("user-role")).toHaveText("member");
  // Members see no admin pages in the navigation.
  await expect(page.getByTestId("nav-team")).toHaveCount(0);
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await context.close();
});

test("a member's fork request of a protected database is approved by an admin, live", async ({ browser, request }) => {
  // The admin's production database.
  const made = await request.post("/api/v1/databases", {
    headers: { Authorization: `Bearer ${token()}` },
    data: { name: "orders" },
  });
  expect(made.status()).toBe(202);

  const admin = await browser.newContext({ storageState: adminState });
  const member = await browser.newContext({ storageState: memberState });
  const adminPage = await admin.newPage();
  const memberPage = await member.newPage();

  // The admin protects it and makes its forks need approval, in the console.
  const adminDbs = new DatabasesPage(adminPage);
  await adminDbs.goto();
  await adminDbs.waitForHydration();
  await expect(adminDbs.phase("orders")).toHaveText(/available/, { timeout: 60_000 });
  await adminPage.goto("/databases/orders");
  await expect(adminPage.locator("html")).toHaveAttribute("data-hydrated", "true");
  const access = adminPage.getByTestId("access");
  await access.getByTestId("protected-toggle").check();
  await access.getByTestId("fork-policy").selectOption("approval");
  await access.getByTestId("access-save").click();
  await expect(access.getByRole("status")).toHaveText("Saved.");
  await expect(adminPage.getByTestId("protected")).toBeVisible();

  // The member sees it protected: Request fork instead of Fork, no Follow.
  const memberDbs = new DatabasesPage(memberPage);
  await memberDbs.goto();
  await memberDbs.waitForHydration();
  const row = memberDbs.row("orders");
  await expect(row.getByTestId("protected")).toBeVisible();
  await expect(row.getByTestId("fork")).toHaveCount(0);
  await expect(row.getByTestId("follow")).toHaveCount(0);
  await row.getByTestId("request-fork").click();
  await new RequestDialog(memberPage).submit("orders-trial", "try the refunds migration on real orders", "2");

  // The request waits; the member's page shows it pending.
  const memberRequests = new RequestsPage(memberPage);
  await expect(memberPage).toHaveURL(/\/requests$/);
  await expect(memberPage.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(memberRequests.state("orders-trial")).toHaveAttribute("data-state", "pending");
  const seen = memberPage.evaluate(() => {
    // Every state the member's page shows from now on, without a reload.
    const states: string[] = [];
    (window as any).__states = states;
    const look = () => {
      const s = document.querySelector('[data-testid="requests"] [data-testid="request-state"]')?.getAttribute("data-state");
      if (s && states[states.length - 1] !== s) states.push(s);
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true });
    look();
  });
  await seen;

  // The admin approves it from the queue in their own browser.
  const adminRequests = new RequestsPage(adminPage);
  await adminRequests.goto();
  // The nav counts what waits; "all requests" lists the pending one too.
  await expect(adminPage.getByTestId("pending-count")).toContainText("1");
  await expect(adminPage.getByTestId("requests").locator("tr", { hasText: "orders-trial" })).toContainText("pending");
  const pending = adminRequests.pending("orders-trial");
  await expect(pending.getByTestId("pending-reason")).toHaveText("try the refunds migration on real orders");
  await pending.getByTestId("approve").click();
  await expect(adminRequests.pending("orders-trial")).toHaveCount(0);
  await expect(adminPage.getByTestId("pending-count")).toHaveCount(0);

  // The member's page follows it to available, live.
  await expect(memberRequests.state("orders-trial")).toHaveAttribute("data-state", "available", { timeout: 90_000 });
  const states: string[] = await memberPage.evaluate(() => (window as any).__states);
  expect(states[0]).toBe("pending");
  expect(states[states.length - 1]).toBe("available");
  await memberPage.screenshot({ path: out("fork-request-available.png"), fullPage: true });

  // The fork is the member's, writable by them, and it expires.
  await memberRequests.row("orders-trial").getByRole("link", { name: "orders-trial" }).click();
  await expect(memberPage.getByTestId("detail-name")).toHaveText("orders-trial");
  await expect(memberPage.getByTestId("expiry")).toContainText("expires in 1h");
  await expect(memberPage.getByTestId("reveal")).toBeVisible();
  await admin.close();
  await member.close();
});
