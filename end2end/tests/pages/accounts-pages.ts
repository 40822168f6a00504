// Page objects for signing in and for fork requests.
import { expect, type Locator, type Page } from "@playwright/test";

export class SignInPage {
  readonly name: Locator;
  readonly password: Locator;
  readonly submit: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.name = page.getByTestId("sign-in-name");
    this.password = page.getByTestId("sign-in-password");
    this.submit = page.getByTestId("sign-in-submit");
    this.error = page.getByTestId("sign-in-error");
  }

  async signIn(name: string, password: string) {
    await expect(this.page.locator("html")).toHaveAttribute("data-hydrated", "true");
    await this.name.fill(name);
    await this.password.fill(password);
    await this.submit.click();
  }
}

export class RequestDialog {
  readonly root: Locator;

  constructor(readonly page: Page) {
    this.root = page.getByTestId("request-dialog");
  }

  async submit(name: string, reason: string, hours: string) {
    await expect(this.root).toBeVisible();
    await this.root.getByTestId("request-name").fill(name);
    await this.root.getByTestId("request-reason").fill(reason);
    await this.root.getByTestId("request-hours").fill(hours);
    await this.root.getByTestId("request-submit").click();
  }
}

export class RequestsPage {
  readonly heading: Locator;
  readonly queue: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { level: 1 });
    this.queue = page.getByTestId("queue");
  }

  async goto() {
    await this.page.goto("/requests");
    await expect(this.page.locator("html")).toHaveAttribute("data-hydrated", "true");
    await expect(this.page.getByTestId("stream-status")).toHaveText(/live/);
  }

  /** A row of the requests table, by the fork's name. */
  row(fork: string): Locator {
    return this.page.getByTestId("requests").locator("tr", { hasText: fork });
  }

  state(fork: string): Locator {
    return this.row(fork).getByTestId("request-state");
  }

  pending(fork: string): Locator {
    return this.queue.locator("li", { hasText: fork });
  }
}
