import type { z } from 'zod';
import { badUserInput } from './errors';

/** Parses client input with a zod schema; every problem comes back in one BAD_USER_INPUT error. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw badUserInput(
    result.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; '),
    { fields: result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })) },
  );
}
