import { parseArgs } from 'node:util';
import { createLogger } from '@shop/kit';
import { deadLetterTopic } from './catalogue';
import { type DeadLetter, listDeadLetters, replayDeadLetters, replayGroupId } from './dlq';
import { KafkaConnection } from './kafka';

const usage = `usage: pnpm events:dlq <list|replay> <consumer group>
  list     every message of dlq.<group>: where it failed, why, and whether it was replayed
  replay   republish the dead letters not replayed yet to their original topics (once each)
env: KAFKA_BROKERS (default localhost:9092), KAFKA_TOPIC_PREFIX (default empty), LOG_LEVEL (default error)`;

function describeLetter(letter: DeadLetter): string {
  const lines = [
    `partition ${letter.partition} offset ${letter.offset}  ${letter.replayed ? 'replayed' : 'NOT replayed'}`,
    `  topic ${letter.originalTopic ?? '?'}  event ${letter.eventType ?? '?'} ${letter.eventId ?? '?'}`,
    `  attempts ${letter.attempts ?? '?'}  failed at ${letter.failedAt ?? '?'}`,
    `  error ${letter.error ?? '?'}`,
  ];
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const [command, group, ...extra] = positionals;
  if ((command !== 'list' && command !== 'replay') || group === undefined || extra.length > 0) {
    console.error(usage);
    return 2;
  }
  const connection = new KafkaConnection({
    brokers: (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',').map((broker) => broker.trim()),
    clientId: 'events-dlq-cli',
    topicPrefix: process.env.KAFKA_TOPIC_PREFIX ?? '',
    logger: createLogger('events-dlq', process.env.LOG_LEVEL ?? 'error'),
  });
  try {
    if (command === 'list') {
      const letters = await listDeadLetters(connection, group);
      const waiting = letters.filter((letter) => !letter.replayed).length;
      console.log(
        `${connection.topic(deadLetterTopic(group))}: ${letters.length} dead letter(s), ${waiting} not replayed yet`,
      );
      for (const letter of letters) console.log(describeLetter(letter));
    } else {
      const { replayed, skipped } = await replayDeadLetters(connection, group);
      console.log(
        `replayed ${replayed} dead letter(s) of ${connection.topic(deadLetterTopic(group))}` +
          (skipped > 0 ? `, skipped ${skipped} without an original topic` : '') +
          ` (progress kept in consumer group ${connection.topic(replayGroupId(group))})`,
      );
    }
    return 0;
  } finally {
    await connection.disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
