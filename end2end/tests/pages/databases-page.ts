// Page objects for the console.
import { expect, type Locator, type Page } from "@playwright/test";

export class DatabasesPage {
  readonly heading: Locator;
  readonly helpToggle: Locator;
  readonly help: Locator;
  readonly emptyState: Locator;
  readonly dialog: CreateDialog;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { name: "Databases", exact: true });
    this.helpToggle = page.getByTestId("help-toggle");
    this.help = page.getByTestId("help");
    this.emptyState = page.getByTestId("empty-state");
    this.dialog = new CreateDialog(page);
  }

  async goto() {
    await this.page.goto("/");
    await expect(this.heading).toBeVisible();
  }

  /** Resolves once the WASM has hydrated the server-rendered page. */
  async waitForHydration() {
    await expect(this.page.locator("html")).toHaveAttribute("data-hydrated", "true");
    await expect(this.page.getByTestId("stream-status")).toHaveText(/live/);
  }

  row(name: string): Locator {
    return this.page.getByTestId(`db-${name}`);
  }

  phase(name: string): Locator {
    return this.row(name).getByTestId("phase");
  }

  async create(name: string) {
    await this.page.getByTestId("create-database").click();
    await this.dialog.submit(name);
  }

  async fork(source: string, name: string) {
    await this.row(source).getByTestId("fork").click();
    await this.dialog.submit(name);
  }

  async follow(source: string, name: string) {
    await this.row(source).getByTestId("follow").click();
    await this.dialog.submit(name);
  }
}

export class CreateDialog {
  readonly root: Locator;
  readonly name: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.root = page.getByTestId("create-dialog");
    this.name = page.getByTestId("create-name");
    this.error = page.getByTestId("dialog-error");
  }

  async submit(name: string) {
    await expect(this.root).toBeVisible();
    await expect(this.name).not.toHaveValue("");
    await this.name.fill(name);
    await this.page.getByTestId("create-submit").click();
  }
}

export class DetailPage {
  constructor(readonly page: Page) {}

  async goto(name: string) {
    await this.page.goto(`/databases/${name}`);
    await expect(this.page.getByTestId("detail-name")).toHaveText(name);
    await expect(this.page.locator("html")).toHaveAttribute("data-hydrated", "true");
  }

  phase(): Locator {
    return this.page.locator(".page-head").getByTestId("phase");
  }

  info(): Locator {
    return this.page.getByTestId("info");
  }
}
