// Test helper: a real headless Chromium (Debian's `chromium`, driven over the DevTools protocol by
// puppeteer-core, which downloads no browser) to render the plots, read their pixels and run their scripts.

import type { TestContext } from 'node:test';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** `$CHROMIUM`, else `chromium` from the PATH. */
function chromiumPath(): string {
  const given = process.env['CHROMIUM'];
  if (given) return given;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const path = join(dir, 'chromium');
    if (existsSync(path)) return path;
  }
  throw new Error('chromium is not installed: apt-get install chromium (or set CHROMIUM to its path)');
}

/** A browser closed when the test ends. */
export async function launchBrowser(t: TestContext): Promise<Browser> {
  // --no-sandbox: the tests run as root in CI, where Chromium refuses its sandbox.
  const browser = await puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'], protocolTimeout: 120_000 });
  t.after(() => browser.close());
  return browser;
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export function hexColor(hex: string): Rgb {
  const n = Number.parseInt(hex.slice(1), 16);
  return { r: n >> 16, g: (n >> 8) & 255, b: n & 255 };
}

/**
 * Runs `fn` (the source of a function, run in the page: the tests are compiled without the DOM's types) with
 * `args` (JSON) in `page`, and returns what it returns.
 */
export function inPage<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(`(${fn})(...${JSON.stringify(args)})`) as Promise<T>;
}

const READ_PIXELS = `async (b64, points) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + b64;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return points.map(([x, y]) => {
    const [r, g, b] = ctx.getImageData(x, y, 1, 1).data;
    return { r, g, b };
  });
}`;

/**
 * The colours of a PNG (a screenshot) at the given pixels, decoded by the browser itself: drawn on a canvas
 * in a blank page and read back with getImageData.
 */
export async function pixelsAt(browser: Browser, png: Uint8Array, points: ReadonlyArray<readonly [number, number]>): Promise<Rgb[]> {
  const page = await browser.newPage();
  try {
    return await inPage<Rgb[]>(page, READ_PIXELS, Buffer.from(png).toString('base64'), points);
  } finally {
    await page.close();
  }
}

/** Euclidean distance of two colours in RGB: 0 is the same, antialiased line pixels stay within ~100 of theirs. */
export function colorDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a.r - b.r, a.g - b.g, a.b - b.b);
}
