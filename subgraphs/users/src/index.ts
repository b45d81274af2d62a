import { loadConfigOrExit, runSubgraph, TokenIssuer } from '@shop/kit';
import { usersEnvSchema } from './config';
import { createUsersPrisma } from './prisma';
import { assertKeyPairMatches, buildUsersSubgraph, schemaUrl } from './subgraph';

const config = loadConfigOrExit(usersEnvSchema);
const tokenSettings = { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };
const tokenIssuer = await TokenIssuer.fromPem(config.JWT_PRIVATE_KEY, {
  ...tokenSettings,
  accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
});
const prisma = createUsersPrisma(config.DATABASE_URL);

await runSubgraph({
  name: 'users',
  config,
  schemaUrl,
  build: async ({ logger, tokenVerifier }) => {
    await assertKeyPairMatches(tokenIssuer, tokenVerifier);
    return buildUsersSubgraph({
      prisma,
      tokenIssuer,
      settings: { refreshTokenTtlDays: config.REFRESH_TOKEN_TTL_DAYS },
      logger,
    });
  },
});
