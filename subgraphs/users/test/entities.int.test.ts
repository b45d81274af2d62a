import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { codes, register, type Session, useUsers } from './harness';

const users = useUsers();
let alice: Session;
let bob: Session;
let carol: Session;
let adminToken: string;

beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([register(users), register(users), register(users)]);
  const admin = await register(users);
  await users.prisma.user.update({ where: { id: admin.user.id }, data: { role: 'ADMIN' } });
  adminToken = await users.keys.tokenFor({ userId: admin.user.id, role: 'ADMIN', email: admin.user.email });
});

// What the gateway sends when another subgraph's result references users.
const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id email name role } }
}`;
const refs = (...ids: string[]) => ({ representations: ids.map((id) => ({ __typename: 'User', id })) });

describe('User entity references', () => {
  it('resolves several users with one SQL query (DataLoader batch)', async () => {
    users.sql.length = 0;
    const response = await users.graphql(
      ENTITIES,
      refs(alice.user.id, bob.user.id, randomUUID(), 'not-a-uuid', carol.user.id.toUpperCase()),
      adminToken,
    );

    expect(response.errors).toBeUndefined();
    expect(response.data?._entities).toEqual([alice.user, bob.user, null, null, carol.user]);
    expect(users.sql).toHaveLength(1);
    expect(users.sql[0]).toMatch(/^SELECT .* FROM "public"\."users" WHERE "public"\."users"\."id" IN \(/);
  });

  it('lets a customer resolve themselves but not someone else (FORBIDDEN, existence not revealed)', async () => {
    const response = await users.graphql(
      ENTITIES,
      refs(alice.user.id, bob.user.id, randomUUID()),
      alice.accessToken,
    );

    expect(response.data?._entities).toEqual([alice.user, null, null]);
    expect(codes(response)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect(response.errors?.map((error) => error.path)).toEqual([
      ['_entities', 1],
      ['_entities', 2],
    ]);
  });

  it('resolves nobody for an anonymous caller (UNAUTHENTICATED)', async () => {
    users.sql.length = 0;
    const response = await users.graphql(ENTITIES, refs(alice.user.id));
    expect(response.data?._entities).toEqual([null]);
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
    expect(users.sql).toEqual([]);
  });
});
