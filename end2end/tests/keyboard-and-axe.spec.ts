// The console with a keyboard and for screen readers: axe-core on every page
// and state the suite visits, failing on any serious or critical violation;
// each dialog takes the focus, keeps Tab inside, closes on Escape and gives
// the focus back; a skip link leads to the main content.
import { expect, test, type Page } from "@playwright/test";
import { memberState } from "../accounts";
import { axe } from "./pages/axe";
import { DatabasesPage } from "./pages/databases-page";
import { auth, available } from "./pages/fleet-api";

async function live(page: Page, url: string) {
  await page.goto(url);
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
}

/** Opens a dialog with `opener`; checks focus in, Tab kept inside, Escape, focus back. */
async function checkDialog(page: Page, opener: ReturnType<Page["getByTestId"]>, dialogId: string, what: string) {
  await opener.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByTestId(dialogId);
  await expect(dialog).toBeVisible();
  const inside = () => dialog.evaluate((d) => d.contains(document.activeElement));
  await expect.poll(inside, { message: `${what}: focus moves into the dialog` }).toBe(true);
  await axe(page, `${what}, open`);
  const controls = await dialog.evaluate(
    (d) => d.querySelectorAll("a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled])").length,
  );
  for (let i = 0; i < controls + 2; i++) {
    await page.keyboard.press("Tab");
    expect(await inside(), `${what}: Tab ${i + 1} stays inside`).toBe(true);
  }
  for (let i = 0; i < controls + 2; i++) {
    await page.keyboard.press("Shift+Tab");
    expect(await inside(), `${what}: Shift+Tab ${i + 1} stays inside`).toBe(true);
  }
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(opener, `${what}: focus returns to its opener`).toBeFocused();
}

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ request }) => {
  test.setTimeout(300_000);
  await available(request, { name: "axe-prod" });
  await available(request, { name: "axe-reader", follow: "axe-prod" });
  await available(request, { name: "axe-copy", fork: "axe-prod" });
  const r = await request.patch("/api/v1/databases/axe-prod", { headers: auth(), data: { public: true } });
  expect(r.status()).toBe(200);
  // A protected twin whose forks members must ask for.
  await available(request, { name: "axe-vault" });
  const p = await request.patch("/api/v1/databases/axe-vault", {
    headers: auth(),
    data: { protected: true, fork_policy: "approval" },
  });
  expect(p.status()).toBe(200);
});

test("every page passes axe (no serious or critical violations)", async ({ page, browser }) => {
  test.setTimeout(300_000);
  for (const url of ["/", "/databases/axe-prod", "/databases/axe-reader", "/databases/axe-copy", "/requests", "/team", "/tokens", "/audit"]) {
    await live(page, url);
    await axe(page, url);
  }
  for (const url of ["/status", "/embed/axe-prod", "/embed"]) {
    await page.goto(url);
    await expect(page.locator("[data-status-root]")).toBeVisible();
    await axe(page, url);
  }
  const stranger = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const signIn = await stranger.newPage();
  await live(signIn, "/sign-in");
  await axe(signIn, "/sign-in");
  await stranger.close();
});

test("each dialog takes the focus, keeps Tab inside, closes on Escape and gives the focus back", async ({ page, browser }) => {
  test.setTimeout(300_000);
  const dbs = new DatabasesPage(page);
  await dbs.goto();
  await dbs.waitForHydration();
  await checkDialog(page, page.getByTestId("create-database"), "create-dialog", "Create");
  await checkDialog(page, dbs.row("axe-prod").getByTestId("follow"), "create-dialog", "Follow");
  await checkDialog(page, dbs.row("axe-prod").getByTestId("fork"), "create-dialog", "Fork");

  await live(page, "/databases/axe-reader");
  await checkDialog(page, page.getByTestId("promote"), "promote-dialog", "Promote");
  await live(page, "/databases/axe-copy");
  await checkDialog(page, page.getByTestId("rotate"), "rotate-dialog", "Rotate credentials");
  await checkDialog(page, page.getByTestId("reset"), "reset-dialog", "Reset from source");
  await checkDialog(page, page.getByTestId("destroy"), "destroy-dialog", "Destroy");

  // Enter in the type-to-confirm field destroys once the name matches.
  await page.getByTestId("destroy").click();
  await expect(page.getByTestId("destroy-confirm-input")).toBeFocused();
  await page.keyboard.type("axe-cop");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("destroy-dialog")).toBeVisible();
  await page.keyboard.type("y");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/$/);
  await expect(dbs.row("axe-copy")).toHaveCount(0, { timeout: 60_000 });

  // A member asks for a fork of the protected database.
  const member = await browser.newContext({ storageState: memberState });
  const memberPage = await member.newPage();
  const memberDbs = new DatabasesPage(memberPage);
  await memberDbs.goto();
  await memberDbs.waitForHydration();
  await checkDialog(memberPage, memberDbs.row("axe-vault").getByTestId("request-fork"), "request-dialog", "Request fork");
  await member.close();
});

test("the skip link is the first stop and leads to the main content", async ({ page }) => {
  await live(page, "/");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to main content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await page.keyboard.press("Enter");
  await expect(page.locator("main#main")).toBeFocused();
});
