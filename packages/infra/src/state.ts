import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What infra:up started itself, so infra:down stops exactly that and nothing else. */
export interface InfraState {
  postgres?: { version: string; cluster: string };
  redis?: { pid: number };
  kafka?: { pid: number };
}

const stateFile = (dir: string) => join(dir, 'state.json');

export function readState(dir: string): InfraState {
  return existsSync(stateFile(dir)) ? (JSON.parse(readFileSync(stateFile(dir), 'utf8')) as InfraState) : {};
}

export function writeState(dir: string, state: InfraState): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
}
