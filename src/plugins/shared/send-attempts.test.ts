// SendAttempts with the relay client's defaults (retry.initial_delay 500ms, retry.max_delay 4s,
// retry.max_times 8): the waits double up to the maximum, one warning starts a streak of failures, one error
// comes after the first attempt and max_times retries have failed, one info line ends the streak.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendAttempts } from './send-attempts.js';

test('waits double up to the maximum; one warning, one error after errorAfterFailures, one info line at the end', () => {
  const lines: Array<[string, string]> = [];
  const record = (level: string) => (obj: unknown, msg?: string) => void lines.push([level, msg ?? String(obj)]);
  const log = { error: record('error'), warn: record('warn'), info: record('info'), debug: () => undefined };
  const attempts = new SendAttempts({ name: 'output/relay-client/tcp_client', target: '[::1]:50051', minBackoffMs: 500, maxBackoffMs: 4000, errorAfterFailures: 9, log });
  const waits = Array.from({ length: 12 }, () => attempts.retry('ECONNREFUSED').retryAfterMs);
  assert.deepEqual(waits, [500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]);
  assert.deepEqual(attempts.retry('ECONNREFUSED').error, '[::1]:50051: ECONNREFUSED');
  attempts.accepted();
  assert.deepEqual(lines, [
    ['warn', 'output/relay-client/tcp_client: [::1]:50051: ECONNREFUSED; the points are kept and sent again with backoff (up to 4000 ms between attempts)'],
    ['error', 'output/relay-client/tcp_client: [::1]:50051: 9 attempts in a row failed, the last: ECONNREFUSED; still trying, every 4000 ms'],
    ['info', 'output/relay-client/tcp_client: [::1]:50051 accepts requests again (after 13 failed attempts)'],
  ]);
  assert.equal(attempts.stats.retries, 13);
});
