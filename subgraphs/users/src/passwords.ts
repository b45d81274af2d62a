import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/**
 * argon2id password hashes (the library's defaults: argon2id, 19 MiB, 2 passes, 1 lane: OWASP's baseline),
 * stored in PHC format so the parameters travel with each hash.
 */
export class PasswordHasher {
  private constructor(private readonly dummyHash: string) {}

  /** Async because it hashes a random password once: the stand-in `verify` uses for unknown accounts. */
  static async create(): Promise<PasswordHasher> {
    return new PasswordHasher(await hash(randomBytes(32)));
  }

  hash(password: string): Promise<string> {
    return hash(password);
  }

  /**
   * Whether `password` matches `passwordHash`. Without a hash (no such account) it still runs a full
   * verification against the stand-in and answers false, so response time does not reveal which emails exist.
   */
  async verify(passwordHash: string | undefined, password: string): Promise<boolean> {
    const matches = await verify(passwordHash ?? this.dummyHash, password).catch(() => false);
    return passwordHash !== undefined && matches;
  }
}
