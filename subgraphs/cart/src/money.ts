// Exact money arithmetic on decimal strings: amounts become integer cents (BigInt), never floats.

const DECIMAL = /^(\d+)(?:\.(\d{1,2}))?$/;

/** "19.9" → 1990n. Throws on anything that is not a non-negative amount with at most 2 decimals. */
export function toCents(amount: string): bigint {
  const match = DECIMAL.exec(amount);
  if (!match) throw new Error(`not an amount with at most 2 decimals: ${amount}`);
  return BigInt(match[1] ?? '0') * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
}

/** 1990n → "19.90". */
export function formatCents(cents: bigint): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const units = abs / 100n;
  const rest = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${units}.${rest}`;
}

/** Two amounts are the same price ("10" and "10.00" are). */
export function sameAmount(a: string, b: string): boolean {
  return toCents(a) === toCents(b);
}
