// The console loads, is server-rendered, and comes alive once hydrated.
import { expect, test } from "@playwright/test";
import * as path from "node:path";
import { DatabasesPage } from "./pages/databases-page";

test("the console renders on the server and hydrates in the browser", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(msg.text());
  });
  page.on("pageerror", (err) => problems.push(err.message));

  // First paint is server-rendered: the HTML already has the page's content.
  const html = await (await page.request.get("/")).text();
  expect(html).toContain("Databases");
  expect(html).toContain("No databases yet");

  const databases = new DatabasesPage(page);
  await databases.goto();
  await expect(databases.emptyState).toBeVisible();
  await databases.waitForHydration();

  // The toggle only works once the WASM runs: a click changes the page.
  await expect(databases.help).toHaveCount(0);
  await databases.helpToggle.click();
  await expect(databases.help).toBeVisible();
  await expect(databases.helpToggle).toHaveAttribute("aria-expanded", "true");
  await databases.helpToggle.press("Enter");
  await expect(databases.help).toHaveCount(0);

  await page.screenshot({ path: path.join(__dirname, "..", "output", "console-hydrated.png"), fullPage: true });
  expect(problems).toEqual([]);
});
