import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { infraDir } from './paths';

/** What infra:up started itself, so infra:down stops exactly that and nothing else. */
export interface InfraState {
  postgres?: { version: string; cluster: string };
  redis?: { pid: number };
  kafka?: { pid: number };
}

const stateFile = join(infraDir, 'state.json');

export function readState(): InfraState {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as InfraState) : {};
}

export function writeState(state: InfraState): void {
  mkdirSync(infraDir, { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
}
