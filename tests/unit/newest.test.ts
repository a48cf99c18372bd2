import { describe, expect, it } from "vitest";
import { keepNewest } from "../../lib/newest.ts";

describe("keepNewest: a holder's limited places", () => {
  const NOW = 1_000;
  const place = (id: string, since: number, expiresAt = NOW + 60) => ({ id, since, expiresAt });

  it("keeps the newest live places, lets go of the older ones, and keeps the one just taken", () => {
    const places = [place("a", 1), place("b", 2), place("c", 3), place("d", 4)];
    expect(keepNewest(places, 3, NOW, "d")).toEqual({ letGo: ["a"], lapsed: [], keeps: true });
    expect(keepNewest(places, 3, NOW, "a")).toEqual({ letGo: ["a"], lapsed: [], keeps: false });
  });

  it("lets lapsed places go and never counts them, however many TTL has left behind", () => {
    const stale = Array.from({ length: 50 }, (_, n) => place(`old-${n}`, 100 + n, NOW - 1));
    const result = keepNewest([...stale, place("own", 5)], 3, NOW, "own");
    expect(result.keeps).toBe(true);
    expect(result.letGo).toEqual([]);
    expect(result.lapsed).toHaveLength(50);
  });

  it("orders places taken at the same instant alike for every reader", () => {
    const places = [place("x", 7), place("y", 7), place("z", 7)];
    expect(keepNewest(places, 2, NOW, "z")).toEqual(keepNewest([...places].reverse(), 2, NOW, "z"));
  });

  it("does not keep a place the read did not find (let go meanwhile by a racer)", () => {
    expect(keepNewest([place("a", 1)], 3, NOW, "gone").keeps).toBe(false);
  });
});
