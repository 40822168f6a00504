// The Schema diff card on a fork's page: identical at first; after a
// migration run on the fork with psql, exactly its changes, with the
// changed column's definitions side by side; axe on the card, and a
// screenshot.
import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { axe } from "./pages/axe";
import { auth, available } from "./pages/fleet-api";

const out = (name: string) => path.join(__dirname, "..", "output", name);
const psql = (url: string, sql: string) =>
  execFileSync("/usr/lib/postgresql/15/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], { encoding: "utf8" });

test("a fork's Schema diff card shows what a migration changed", async ({ page, request }) => {
  await available(request, { name: "ledger" });
  const url = async (name: string) =>
    (await (await request.get(`/api/v1/databases/${name}/credentials`, { headers: auth() })).json()).url as string;
  psql(await url("ledger"), "CREATE TABLE users (id int PRIMARY KEY, name text, email text CONSTRAINT email_at CHECK (email LIKE '%@%'))");
  await available(request, { name: "ledger-try", fork: "ledger" });

  await page.goto("/databases/ledger-try");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  const card = page.getByTestId("schema-diff");
  await card.getByTestId("compare").click();
  await expect(card.getByTestId("diff-summary")).toHaveText("Same schema as ledger.");

  psql(
    await url("ledger-try"),
    "ALTER TABLE users ADD COLUMN age integer; ALTER TABLE users ALTER COLUMN name TYPE varchar(80); " +
      "CREATE INDEX users_age ON users (age); ALTER TABLE users DROP CONSTRAINT email_at",
  );
  await card.getByTestId("compare").click();
  await expect(card.getByTestId("diff-summary")).toHaveText("4 differences against ledger.");
  const objects = card.getByTestId("diff-object");
  await expect(objects).toHaveCount(4);
  await expect(objects.nth(0)).toContainText("added column users.age");
  await expect(objects.nth(1)).toContainText("changed column users.name");
  await expect(objects.nth(1).getByTestId("before").locator("p")).toHaveText("in ledger");
  await expect(objects.nth(1).getByTestId("before").locator("pre")).toHaveText("text");
  await expect(objects.nth(1).getByTestId("after").locator("p")).toHaveText("in ledger-try");
  await expect(objects.nth(1).getByTestId("after").locator("pre")).toHaveText("character varying(80)");
  await expect(objects.nth(2)).toContainText("removed constraint users.email_at");
  await expect(objects.nth(3)).toContainText("CREATE INDEX users_age ON public.users USING btree (age)");
  await axe(page, "schema diff card");
  await card.screenshot({ path: out("schema-diff.png") });

  // The source has nothing to compare with: no card.
  await page.goto("/databases/ledger");
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("roles")).toBeVisible();
  await expect(page.getByTestId("schema-diff")).toHaveCount(0);
});
