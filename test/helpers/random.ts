// Test helper: a seeded pseudo-random generator for fuzz tests, so that a failing case can be replayed from
// its seed. Any thread.

export interface Random {
  /** A number in [0, 1). */
  rand(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
}

/** mulberry32: small, fast, good enough to pick fuzz cases reproducibly. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(rand() * n);
  return { rand, int, pick: (xs) => xs[int(xs.length)]! };
}
