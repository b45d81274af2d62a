import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { domainTopics } from '@shop/events/catalogue';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './paths';

describe('docker-compose topic list', () => {
  it('is the event catalogue, topic for topic', () => {
    const listed = readFileSync(join(projectRoot, 'packages/infra/compose/topics.txt'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(listed.sort()).toEqual([...domainTopics].sort());
  });
});
