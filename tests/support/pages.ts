import type { Frame, Page } from "playwright-core";

/**
 * What a person does on the widget (/chat/) and the console (/agent/), for the browser tests: each
 * step by label and role, as a screen reader would find it.
 */

/** `Anna-local-1` for anna: the local users' passwords. */
export const passwordOf = (username: string) => `${username[0]?.toUpperCase()}${username.slice(1)}-local-1`;

/** Signs in at the console as a user of the local identity provider, with that user's password unless told another. */
export async function signIn(page: Page, username: string, nickname: string, password = passwordOf(username), endpoint = "gms_builtin") {
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Name customers see").fill(nickname);
  await page.getByLabel("Chat endpoint").fill(endpoint);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export async function goReady(page: Page) {
  await page.getByRole("button", { name: "Ready", exact: true, pressed: false }).click();
  await page.locator('#presence[aria-pressed="true"]').waitFor();
}

/** The widget's pre-chat form, filled and sent from the keyboard, until the customer has joined. */
export async function startChat(page: Page | Frame, name: string, subject: string) {
  await page.locator("#start:enabled").waitFor({ timeout: 25_000 });
  await page.getByRole("button", { name: "Chat with us" }).click();
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Email").fill("bob@example.com");
  await page.getByLabel("What is it about?").fill(subject);
  // Keyboard only: Enter in the last field submits the form.
  await page.getByLabel("What is it about?").press("Enter");
  await entry(page, "You joined the chat").waitFor();
}

/** Types a message and sends it with Enter. */
export async function say(page: Page | Frame, text: string) {
  await page.locator("#message").fill(text);
  await page.locator("#message").press("Enter");
}

/** The transcript's entries that contain `text`. */
export function entry(page: Page | Frame, text: string) {
  return page.locator("#transcript li", { hasText: text });
}
