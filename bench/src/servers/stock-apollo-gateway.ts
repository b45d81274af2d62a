// Child process of the bench: stock @apollo/gateway as its README shows it (ApolloGateway + ApolloServer's
// standalone server), with only the caller's Authorization header forwarded to the subgraphs.
// Env: SUPERGRAPH_PATH, PORT.
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

interface Context {
  authorization: string | undefined;
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH as string, 'utf8'),
  buildService: ({ url }) =>
    new (class extends RemoteGraphQLDataSource<Context> {
      override willSendRequest({
        request,
        context,
      }: Parameters<RemoteGraphQLDataSource<Context>['willSendRequest'] & {}>[0]) {
        if (context.authorization) request.http?.headers.set('authorization', context.authorization);
      }
    })({ url: url as string }),
});
const server = new ApolloServer<Context>({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
process.stdout.write(`${JSON.stringify({ ready: { url } })}\n`);
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
