import { createHash, randomBytes } from 'node:crypto';

/** A new opaque refresh token: 32 random bytes, base64url. Only its hash is stored. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the database keeps of a refresh token: hex SHA-256 (a fast hash suffices for 256 random bits). */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
