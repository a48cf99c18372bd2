/**
 * The API origins a page may be pointed at (`?api=`) besides the one that served it:
 * PAGE_API_ORIGINS, comma separated, e.g. `https://api.example.com`. They are fixed per stage at
 * deploy time, so no link can make a page send what a customer types to an origin of its choosing.
 * Each must be written as browsers write an origin (scheme, lower-case host, and the port only when
 * it is not the scheme's default), because the widget compares them with `URL.origin` and the
 * Content-Security-Policy names them as they are; a malformed value fails at init.
 */
export function pageApiOrigins(setting: string | undefined): readonly string[] {
  const origins = new Set(
    (setting ?? "")
      .split(",")
      .map((origin) => origin.trim())
      .filter(Boolean),
  );
  for (const origin of origins) {
    if (!ORIGIN.test(origin) || canonical(origin) !== origin)
      throw new Error(
        `PAGE_API_ORIGINS must be a comma-separated list of origins like https://api.example.com, not ${JSON.stringify(origin)}`,
      );
  }
  return [...origins];
}

/** A host name, an IPv4 or a bracketed IPv6 address: nothing that could end a CSP source or directive. */
const ORIGIN = /^https?:\/\/(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/;

function canonical(origin: string): string | undefined {
  try {
    return new URL(origin).origin;
  } catch {
    return undefined;
  }
}
