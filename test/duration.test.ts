// Humantime durations (src/protocol/duration.ts) and "did you mean" suggestions (src/protocol/suggest.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, formatDuration, DurationError } from '../src/protocol/duration.js';
import { closest, editDistance } from '../src/protocol/suggest.js';

const MS = 1_000_000n;
const S = 1_000n * MS;

test('durations in every accepted form parse to nanoseconds', () => {
  const cases: Array<[string, bigint]> = [
    ['100us', 100_000n],
    ['100µs', 100_000n],
    ['10ms', 10n * MS],
    ['1s', S],
    ['2m', 120n * S],
    ['1h', 3600n * S],
    ['1m30s', 90n * S],
    ['1m 30s', 90n * S],
    ['  5s  ', 5n * S],
    ['2h 15m', 8100n * S],
    ['10sec', 10n * S],
    ['0s', 0n],
    ['1d', 86_400n * S],
  ];
  for (const [input, ns] of cases) assert.equal(parseDuration(input), ns, input);
});

test('malformed durations are rejected with a message that names the input and says what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['1.5s', /^"1\.5s" is not a duration \(fractions are not supported; combine units instead, e\.g\. "1s500ms"/],
    ['10', /^"10" is not a duration \(the number 10 has no unit\); write a number and a unit: "100us", "10ms"/],
    ['1m30', /the number 30 has no unit/],
    ['1s garbage', /^"1s garbage" is not a duration \(cannot read "garbage"\)/],
    ['-1s', /^"-1s" is not a duration \(a duration has no sign\)/],
    ['', /^empty duration; write a number and a unit: "100us"/],
    ['   ', /^empty duration/],
    ['10 sec', /^"10 sec" is not a duration \(no space is allowed between a number and its unit: "10sec"\)/],
    ['10x', /^"10x" is not a duration: unknown unit "x"; valid units are ns, us, ms, s, m, h, d, w, M, y/],
    ['5%', /cannot read "5%"/],
    ['s', /cannot read "s"/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseDuration(input), (e: unknown) => e instanceof DurationError && message.test(e.message), JSON.stringify(input));
  }
});

test('formatDuration writes what parseDuration reads back', () => {
  for (const text of ['1m 30s', '500us', '1h', '2d 3h 4m 5s 6ms 7us 8ns']) {
    assert.equal(formatDuration(parseDuration(text)), text);
  }
  assert.equal(formatDuration(0n), '0s');
});

test('closest suggests plausible typos only', () => {
  const keys = ['poll_interval', 'flush_interval', 'root', 'enabled'];
  const cases: Array<[string, string | undefined]> = [
    ['pol_interval', 'poll_interval'],
    ['Poll_Interval', 'poll_interval'],
    ['flush_intervall', 'flush_interval'],
    ['enable', 'enabled'],
    ['rot', 'root'],
    ['completely_different', undefined],
    ['xy', undefined],
    ['z', undefined],
  ];
  for (const [word, expected] of cases) assert.equal(closest(word, keys), expected, word);
  assert.equal(closest('anything', []), undefined);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});
