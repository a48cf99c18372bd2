import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/**
 * The installed Chromium or Chrome the browser tests drive through playwright-core (which downloads
 * no browser): CHROMIUM_PATH, else Debian's /usr/bin/chromium, else a usual Chrome location.
 */
export function findChromium(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
  ];
  return candidates.find((path) => path !== undefined && path !== "" && existsSync(path));
}

/**
 * Sandbox off (CI runs as root), and no background traffic: the machine has no network beyond
 * loopback, and Chromium's own connections would only fail.
 */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Headless, with CHROMIUM_ARGS. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Chromium as a person runs it with third-party cookies blocked (Chrome's setting, and its incognito
 * default): a frame from another site gets no storage at all, and even reading its `sessionStorage`
 * throws. Set in the profile explicitly rather than left to the browser's default, which has changed
 * across versions. Closing the context ends the browser; `profileDir`, an empty folder, is the caller's to remove.
 */
export async function launchChromiumRefusingThirdPartyStorage(executablePath: string, profileDir: string): Promise<BrowserContext> {
  await mkdir(join(profileDir, "Default"), { recursive: true });
  const preferences = { profile: { cookie_controls_mode: 1, block_third_party_cookies: true } };
  await writeFile(join(profileDir, "Default", "Preferences"), JSON.stringify(preferences));
  return chromium.launchPersistentContext(profileDir, { executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** Fails the test on a script error or a refused resource (a CSP violation shows up as a console error). */
export function watchForErrors(page: Page, errors: string[]): void {
  page.on("pageerror", (error) => errors.push(`${page.url()}: ${error.message}`));
  page.on("console", (message) => {
    // A refused fetch (the 503 of request-chat) is logged by Chromium as a failed load: not a page error.
    if (
      message.type() === "error" &&
      !/Failed to load resource: the server responded with a status of (503|409|403)/.test(message.text())
    ) {
      errors.push(`${page.url()}: ${message.text()}`);
    }
  });
}

/**
 * Visible controls without an accessible name: every input, button and text area needs a label.
 * (In-page code is a string: this project's TypeScript is checked without the DOM library.)
 */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll("input, textarea, select, button")]
    .filter((control) => control.offsetParent !== null)
    .filter((control) => !(control.labels && control.labels.length > 0) && !control.getAttribute("aria-label")
      && !control.getAttribute("aria-labelledby") && control.textContent.trim() === "")
    .map((control) => control.outerHTML.slice(0, 80))`);
}

/** Whether the page fits its viewport's width (nothing to scroll sideways on a phone). */
export function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate<boolean>("document.documentElement.scrollWidth <= window.innerWidth");
}
