// Exact money arithmetic in cents (bigint): decimal strings in, decimal strings out, never a float.

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** "19.99" → 1999n. More than two decimals are rounded half up (catalogue prices have two). */
export function toCents(amount: string): bigint {
  const match = DECIMAL.exec(amount);
  if (!match) throw new Error(`not a non-negative decimal amount: ${amount}`);
  const [, whole = '0', fraction = ''] = match;
  const padded = fraction.padEnd(3, '0');
  const cents = BigInt(whole) * 100n + BigInt(padded.slice(0, 2));
  return padded.slice(2) !== '' && Number(padded[2]) >= 5 ? cents + 1n : cents;
}

/** 1999n → "19.99". */
export function fromCents(cents: bigint): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const text = `${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
  return negative ? `-${text}` : text;
}

/** What a Decimal(12,2) column holds: less than 10^10 units. */
export const MAX_CENTS = 10n ** 12n - 1n;
