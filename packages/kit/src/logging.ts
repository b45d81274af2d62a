import { type Logger, pino } from 'pino';

export type { Logger };

/** One JSON logger per process; `service` tags every line so mixed logs stay readable. */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: {
      paths: ['*.password', '*.token', '*.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
}
