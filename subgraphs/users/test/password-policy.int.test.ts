import { describe, expect, it } from 'vitest';
import { codes, LOGIN, REGISTER, register, uniqueEmail, useUsers } from './harness';

const users = useUsers();

const CHANGE = `mutation Change($current: String!, $next: String!) {
  changePassword(currentPassword: $current, newPassword: $next) { __typename }
}`;

type FieldProblem = { path: string; message: string };
const passwordProblem = (response: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  (response.errors?.[0]?.extensions?.fields as FieldProblem[] | undefined)?.find(
    (field) => field.path === 'password' || field.path === 'newPassword',
  )?.message;

describe('password policy', () => {
  it.each([
    ['a common password', () => '12345678'],
    ['"password" itself', () => 'password'],
    ['a common password in other letter case', () => 'PassWord123'],
    ['the email address', (email: string) => email.toUpperCase()],
    ['the local part of the email', (email: string) => email.split('@')[0] ?? ''],
    ['7 characters', () => 'x7$kq!v'],
  ])(
    'refuses %s at register with BAD_USER_INPUT on the password field, creating nothing',
    async (_, make) => {
      const email = uniqueEmail('policy');
      const response = await users.graphql(REGISTER, { input: { email, password: make(email), name: 'P' } });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(passwordProblem(response)).toEqual(expect.any(String));
      expect(await users.prisma.user.count({ where: { email } })).toBe(0);
    },
  );

  it('accepts a long uncommon passphrase', async () => {
    const email = uniqueEmail('policy');
    const response = await users.graphql(REGISTER, {
      input: { email, password: 'purple tractor sings', name: 'P' },
    });
    expect(response.errors).toBeUndefined();
  });

  it.each([
    ['a common password', () => 'password1'],
    ['the account email', (email: string) => email],
    ['the local part of the email', (email: string) => email.split('@')[0] ?? ''],
  ])('refuses %s as a new password (changePassword), keeping the old one', async (_, make) => {
    const session = await register(users);
    const response = await users.graphql(
      CHANGE,
      { current: session.password, next: make(session.user.email) },
      session.accessToken,
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(passwordProblem(response)).toEqual(expect.any(String));
    const login = await users.graphql(LOGIN, { email: session.user.email, password: session.password });
    expect(login.errors).toBeUndefined();
  });
});
