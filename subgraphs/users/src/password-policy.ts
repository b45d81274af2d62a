import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;

// The 1,000 passwords attackers try first (common-passwords.txt: lower case, one a line); compared ignoring case.
const commonPasswords: ReadonlySet<string> = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean),
);

/** Length only: what zod checks on the field itself (the rest needs the account's email). */
export const passwordLength = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`);

/**
 * Why a password of the right length is still refused for the account with `email`, or undefined: one of the
 * common passwords, or the email address or its local part (case and surrounding spaces ignored).
 */
export function weakPasswordReason(password: string, email: string): string | undefined {
  const candidate = password.trim().toLowerCase();
  if (commonPasswords.has(candidate)) return 'is too common: choose a less guessable password';
  const address = email.trim().toLowerCase();
  const localPart = address.split('@')[0] ?? '';
  if (candidate === address || (localPart !== '' && candidate === localPart)) {
    return 'must not be your email address';
  }
  return undefined;
}

/** Adds the policy's issue to a zod object holding `password` (at `field`) and `email`. */
export function checkPasswordPolicy(
  value: { password: string; email: string },
  ctx: z.RefinementCtx,
  field = 'password',
): void {
  const reason = weakPasswordReason(value.password, value.email);
  if (reason) ctx.addIssue({ code: 'custom', path: [field], message: reason });
}
