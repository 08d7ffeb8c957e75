// Sizes of files as config keys give them: "500KB", "1MB", "2GB", "64MiB", or a number of bytes. Any thread:
// config checks on the main thread, the csv output's rotation in its worker.

export class ByteSizeError extends Error {
  override readonly name = 'ByteSizeError';
}

// Decimal prefixes as disk and file tools print them (1MB = 1 000 000 bytes); binary ones spelled with an i.
const BYTES_PER: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const EXAMPLES = '"500KB", "1MB", "2GB", "64MiB" or a number of bytes';
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;

/** A size in bytes (a whole number below 2^53); throws a ByteSizeError naming the input and what is valid. */
export function parseByteSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new ByteSizeError(`${input} is not a size; write ${EXAMPLES}`);
    return input;
  }
  const m = SIZE.exec(input.trim());
  const per = m === null ? undefined : BYTES_PER[(m[2] || 'b').toLowerCase()];
  if (m === null || per === undefined) throw new ByteSizeError(`${JSON.stringify(input)} is not a size; write ${EXAMPLES}`);
  const bytes = Math.round(Number(m[1]) * per);
  if (!Number.isSafeInteger(bytes)) throw new ByteSizeError(`${JSON.stringify(input)} is too large; the maximum is 9PB`);
  return bytes;
}
