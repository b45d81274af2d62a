import { AsyncLocalStorage } from 'node:async_hooks';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { activeTraceIds } from './tracing';

export type { Logger };

/** Fields every log line written inside `withLogFields` carries, whichever logger writes it. */
export type LogFields = Record<string, string | number | boolean>;

const logFields = new AsyncLocalStorage<LogFields>();

/**
 * Runs `work` so that every log line it causes carries `fields` (an event's `correlationId` and id while a
 * consumer handles it), including lines of loggers that never saw the event (a service's own).
 */
export function withLogFields<T>(fields: LogFields, work: () => T): T {
  return logFields.run({ ...logFields.getStore(), ...fields }, work);
}

/**
 * One JSON logger per process; `service` tags every line so mixed logs stay readable. Lines go to stdout unless
 * a `destination` is given (tests read them).
 */
export function createLogger(
  service: string,
  level: string = process.env.LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = {
    name: service,
    level,
    base: { service },
    // The active span's traceId/spanId (tracing on) and withLogFields' fields, so a line leads to its trace.
    mixin: () => ({ ...logFields.getStore(), ...activeTraceIds() }),
    redact: {
      paths: ['*.password', '*.token', '*.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
