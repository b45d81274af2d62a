import { describe, expect, it } from 'vitest';
import { registerInputSchema } from './users.service';

// Registration rules, without a database.
describe('registration input rules', () => {
  const valid = { email: '  Ada@Example.COM ', password: 'long enough', name: '  Ada  ' };

  it('normalises the email (trimmed, lower case) and the name (trimmed)', () => {
    expect(registerInputSchema.parse(valid)).toEqual({
      email: 'ada@example.com',
      password: 'long enough',
      name: 'Ada',
    });
  });

  it('keeps the password exactly as typed (spaces are part of it)', () => {
    expect(registerInputSchema.parse({ ...valid, password: ' pass word ' }).password).toBe(' pass word ');
  });

  it.each([
    ['email', 'not-an-email'],
    ['email', `${'a'.repeat(250)}@example.com`],
    ['password', 'short'],
    ['password', 'x'.repeat(257)],
    ['name', '   '],
    ['name', 'x'.repeat(101)],
  ])('refuses a bad %s', (field, value) => {
    const result = registerInputSchema.safeParse({ ...valid, [field]: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual([field]);
  });
});
