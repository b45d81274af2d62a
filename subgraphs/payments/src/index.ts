import { runSubgraph } from '@shop/runtime';
import { subgraph } from './subgraph';

await runSubgraph(subgraph);
