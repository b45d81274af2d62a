import { ShopClient } from '@shop/client';
import {
  type SubgraphProcesses,
  type SubgraphProcessesOptions,
  startSubgraphProcesses,
  testLogger,
} from '@shop/testing';
import { composeSupergraph } from '../src/compose';
import { type RunningGateway, startGateway } from '../src/gateway';

// The whole supergraph for fault drills: every subgraph its own process over its own Kafka broker and Redis
// (startSubgraphProcesses in the testkit), the real gateway in front of them in the test process.

export interface DrillStack extends SubgraphProcesses {
  gateway: RunningGateway;
  client: ShopClient;
}

export async function startDrillStack(options: SubgraphProcessesOptions = {}): Promise<DrillStack> {
  const processes = await startSubgraphProcesses(options);
  try {
    const { supergraphSdl } = await composeSupergraph(
      Object.fromEntries(Object.entries(processes.subgraphs).map(([name, s]) => [name, s.url])),
    );
    const gateway = await startGateway({
      supergraphSdl,
      port: 0,
      host: '127.0.0.1',
      tokenVerifier: processes.keys.verifier,
      logger: testLogger('drill-gateway'),
    });
    return {
      ...processes,
      gateway,
      client: new ShopClient(gateway.url),
      stop: async () => {
        await gateway.stop();
        await processes.stop();
      },
    };
  } catch (error) {
    await processes.stop();
    throw error;
  }
}
