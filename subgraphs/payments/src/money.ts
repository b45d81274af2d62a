// Stripe counts in the currency's minor unit (cents); we keep exact decimal strings. Every currency this shop
// sells in has two decimals (zero-decimal currencies such as JPY would need a table of exponents).

/** "19.98" → 1998, exactly (no float). */
export function toMinorUnits(amount: string): number {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(amount);
  if (!match) throw new Error(`not an amount with at most two decimals: ${amount}`);
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

/** 1998 → "19.98". */
export function fromMinorUnits(minor: number): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new Error(`not an amount in minor units: ${minor}`);
  const text = String(minor).padStart(3, '0');
  return `${text.slice(0, -2)}.${text.slice(-2)}`;
}
