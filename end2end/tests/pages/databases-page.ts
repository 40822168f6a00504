// Page object for the databases page.
import { expect, type Locator, type Page } from "@playwright/test";

export class DatabasesPage {
  readonly heading: Locator;
  readonly helpToggle: Locator;
  readonly help: Locator;
  readonly emptyState: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { name: "Databases", exact: true });
    this.helpToggle = page.getByTestId("help-toggle");
    this.help = page.getByTestId("help");
    this.emptyState = page.getByTestId("empty-state");
  }

  async goto() {
    await this.page.goto("/");
    await expect(this.heading).toBeVisible();
  }

  /** Resolves once the WASM has hydrated the server-rendered page. */
  async waitForHydration() {
    await expect(this.page.locator("html")).toHaveAttribute("data-hydrated", "true");
  }
}
