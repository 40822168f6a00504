// Masking rules from the console: an admin defines rules on the Masking
// card (two from the form, one suggested), previews masked rows; a member
// forks from the list and gets a masked fork (checked with psql: no
// original value, the hashed email still joins); the member resets the
// fork from its page and it is masked again; its Schema diff card shows
// the masking changed no schema; the member asks for an unmasked fork,
// the admin approves it, and it is marked unmasked. axe on the card, and
// a screenshot.
import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { memberState } from "../accounts";
import { RequestDialog, RequestsPage } from "./pages/accounts-pages";
import { axe } from "./pages/axe";
import { DatabasesPage, DetailPage } from "./pages/databases-page";
import { auth, available } from "./pages/fleet-api";

const out = (name: string) => path.join(__dirname, "..", "output", name);
const psql = (url: string, sql: string) =>
  execFileSync("/usr/lib/postgresql/15/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], { encoding: "utf8" }).trim();

test("rules from the Masking card mask a member's fork, and again after a reset", async ({ page, browser, request }) => {
  await available(request, { name: "crm" });
  const url = async (name: string) =>
    (await (await request.get(`/api/v1/databases/${name}/credentials`, { headers: auth() })).json()).url as string;
  psql(
    await url("crm"),
    "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL UNIQUE, name text); " +
      "CREATE TABLE orders (id int PRIMARY KEY, email text NOT NULL REFERENCES users (email)); " +
      "INSERT INTO users SELECT g, format('person%s@realmail.test', g), format('Realname %s', g) FROM generate_series(1, 50) g; " +
      "INSERT INTO orders SELECT g, format('person%s@realmail.test', 1 + g % 50) FROM generate_series(1, 120) g",
  );

  // The admin writes the rules.
  const detail = new DetailPage(page);
  await detail.goto("crm");
  const card = page.getByTestId("masking");
  await expect(card.getByTestId("masking-version")).toHaveText("No rules: its forks are plain copies of its data.");
  await expect(card.getByTestId("masking-suggestions")).toContainText("public.users.email");
  await axe(page, "masking card with suggestions");
  const addRule = async (column: string, method: string) => {
    await card.getByTestId("rule-column").selectOption(column);
    await card.getByTestId("rule-method").selectOption(method);
    await card.getByTestId("add-rule-submit").click();
    await expect(card.getByTestId(`rule-${column}`)).toBeVisible();
  };
  await addRule("public.users.email", "hash");
  await addRule("public.orders.email", "hash");
  await card.getByRole("button", { name: "Add this rule: mask public.users.name as fake name" }).click();
  await expect(card.getByTestId("rule-public.users.name")).toContainText("fake name");
  await expect(card.getByTestId("masking-version")).toContainText("Version 3, saved by admin");
  // A rule that does not fit is refused with the reason, and nothing changes.
  await card.getByTestId("rule-column").selectOption("public.users.id");
  await card.getByTestId("rule-method").selectOption("fake_email");
  await card.getByTestId("add-rule-submit").click();
  await expect(card.getByTestId("masking-error")).toContainText("public.users.id is integer; fake_email masks text columns");
  await expect(card.getByTestId("masking-version")).toContainText("Version 3");

  await card.getByTestId("masking-preview").click();
  const preview = card.getByTestId("masking-preview-rows");
  await expect(preview.locator("tbody tr")).toHaveCount(10);
  await expect(preview).not.toContainText("realmail");
  await axe(page, "masking card");
  await card.screenshot({ path: out("masking-card.png") });

  // A member forks it from the list: masked before it is available.
  const member = await browser.newContext({ storageState: memberState });
  const memberPage = await member.newPage();
  const dbs = new DatabasesPage(memberPage);
  await dbs.goto();
  await dbs.waitForHydration();
  await dbs.fork("crm", "crm-dev");
  await expect(dbs.row("crm-dev").getByTestId("masked")).toBeVisible({ timeout: 120_000 });
  await expect(dbs.phase("crm-dev")).toHaveText(/available/, { timeout: 120_000 });
  const devUrl = await url("crm-dev");
  const masked = () => {
    expect(psql(devUrl, "SELECT count(*) FROM users WHERE email LIKE '%realmail%' OR name LIKE 'Realname%'")).toBe("0");
    expect(psql(devUrl, "SELECT count(*) FROM orders JOIN users USING (email)")).toBe("120");
  };
  masked();
  expect(psql(await url("crm"), "SELECT count(*) FROM users WHERE email LIKE '%realmail%'")).toBe("50");

  // The member resets it from its page: the source's data, masked again.
  const memberDetail = new DetailPage(memberPage);
  await memberDetail.goto("crm-dev");
  await expect(memberPage.locator(".page-head").getByTestId("masked")).toBeVisible();
  psql(devUrl, "UPDATE users SET name = 'changed in the fork'");
  await memberPage.getByTestId("reset").click();
  await memberPage.getByTestId("reset-confirm-input").fill("crm-dev");
  await memberPage.getByTestId("reset-confirm").click();
  await expect(memberPage.getByTestId("reset-dialog")).toHaveCount(0);
  await expect(memberDetail.phase()).toHaveText(/available/, { timeout: 120_000 });
  expect(psql(devUrl, "SELECT count(*) FROM users WHERE name = 'changed in the fork'")).toBe("0");
  masked();

  // Masking replaced values, not the schema.
  const diff = memberPage.getByTestId("schema-diff");
  await diff.getByTestId("compare").click();
  await expect(diff.getByTestId("diff-summary")).toHaveText("Same schema as crm.");

  // An unmasked fork is asked for, says so, and waits for the admin.
  await memberDetail.goto("crm");
  await memberPage.getByTestId("request-unmasked").click();
  await memberPage.getByTestId("request-dialog").getByTestId("request-unmasked").check();
  await new RequestDialog(memberPage).submit("crm-raw", "reproduce the email encoding bug", "2");
  await expect(memberPage).toHaveURL(/\/requests$/);
  const requests = new RequestsPage(page);
  await requests.goto();
  const pending = requests.pending("crm-raw");
  await expect(pending.getByTestId("pending-unmasked")).toBeVisible();
  await expect(pending).toContainText("wants an unmasked fork of crm");
  await axe(page, "an unmasked fork request");
  await pending.getByTestId("approve").click();
  await expect(requests.row("crm-raw").getByTestId("request-unmasked")).toBeVisible();
  await dbs.goto();
  await expect(dbs.row("crm-raw").getByTestId("unmasked")).toBeVisible({ timeout: 120_000 });
  await expect(dbs.phase("crm-raw")).toHaveText(/available/, { timeout: 120_000 });
  expect(psql(await url("crm-raw"), "SELECT count(*) FROM users WHERE email LIKE '%realmail%'")).toBe("50");
  await member.close();
});
