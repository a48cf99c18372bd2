import { createHash } from "node:crypto";

/**
 * How a chat's customer hears of its events: by polling (refresh), or pushed over CometD
 * (lib/comet/) when the create said `notify_by=comet` and came with a `gms_user` header, as GMS
 * async clients do. The pushes go to the CometD clients that send the same `gms_user`; what is
 * kept is a digest of it, never the header itself.
 */

/** `notify_by=comet`, in any case; anything else (or nothing) means polling. */
export function wantsComet(notifyBy: string | undefined): boolean {
  return notifyBy?.trim().toLowerCase() === "comet";
}

/** A `gms_user` header that names someone: present and not blank. */
export function gmsUserOf(header: string | undefined): string | undefined {
  const user = header?.trim();
  return user === undefined || user === "" ? undefined : user;
}

/** The key a `gms_user` is kept under: the same for the app's REST calls and its CometD clients. */
export function cometUserDigest(gmsUser: string): string {
  return createHash("sha256")
    .update(JSON.stringify(["comet", gmsUser]))
    .digest("base64url");
}
