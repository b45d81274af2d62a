import { infraDown, infraStatus, infraUp } from './infra';

const command = process.argv[2];
const progress = (message: string) => console.log(`  ${message}`);

try {
  if (command === 'up') {
    const t0 = Date.now();
    console.log('infra:up');
    const { started } = await infraUp({ progress });
    console.log(
      `infra:up done in ${((Date.now() - t0) / 1000).toFixed(1)}s; ${started.length ? `started ${started.join(', ')}` : 'started nothing (all were answering)'}`,
    );
  } else if (command === 'down') {
    console.log('infra:down');
    await infraDown({ progress });
  } else if (command === 'status') {
    for (const s of await infraStatus()) {
      console.log(
        `  ${s.service.padEnd(9)} ${s.answering ? 'up  ' : 'DOWN'} ${s.address}${s.startedByUs ? '  (started by infra:up)' : ''}`,
      );
    }
  } else {
    console.error('usage: infra <up|down|status>');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`infra ${command} failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
