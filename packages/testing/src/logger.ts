import { createLogger, type Logger } from '@shop/kit';

/** Quiet in tests unless TEST_LOG_LEVEL asks for more (e.g. TEST_LOG_LEVEL=debug pnpm test:int). */
export function testLogger(name: string): Logger {
  return createLogger(name, process.env.TEST_LOG_LEVEL ?? 'silent');
}
