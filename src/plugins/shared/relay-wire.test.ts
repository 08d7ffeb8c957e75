// The relay's wire format: the client's encoder writes exactly the bytes of reference/alumet-wire.md's three
// worked messages (and the server's answer), the server's decoder reads them back; random messages of every
// value and attribute variant, u64 extremes and any Unicode survive the round trip through frames cut at
// random places; and a body cut short or broken anywhere is a DecodeError, never another exception.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batch, F64, U64, type AttrValue, type Attributes, type PointView, type ValueType } from '../../protocol/element-api.js';
import { BatchBuilder } from '../../protocol/batch-builder.js';
import { encodeMeasurements, encodedAttribute } from '../relay-client/encode-measurements.js';
import { MeasurementDecoder } from '../relay-server/decode-measurements.js';
import { FrameReader } from './relay-frames.js';
import { DecodeError } from './postcard.js';
import {
  Variant,
  encodeGreet,
  encodeGreetResponse,
  encodeRegisterMetrics,
  readGreet,
  readGreetResponse,
  readMessageStart,
  readRegisterMetrics,
  type WireMetric,
} from './relay-messages.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// reference/alumet-wire.md §1, "Hex example", as single strings.
const GREET = hex('00 00 00 12 03 61 63 63 00 05 30 2e 39 2e 35 05 30 2e 36 2e 30 02');
const GREET_RESPONSE = hex('00 00 00 10 00 01 01 05 30 2e 39 2e 35 05 30 2e 36 2e 30 02');
const REGISTER = hex('00 00 00 16 03 61 63 63 02 01 01 0a 61 63 63 5f 65 6e 65 72 67 79 00 01 4a 00');
const SEND = hex(
  '00 00 00 35 03 61 63 63 03 01 01 80 e2 cf aa 06 05 00 00 00 00 00 00 00 f8 3f 0d 6c 6f 63 61 6c 5f 6d 61 63 68 69 6e 65 00 0d 6c 6f 63 61 6c 5f 6d 61 63 68 69 6e 65 00 00',
);

const body = (framed: Buffer): Buffer => {
  assert.equal(framed.readUInt32BE(0), framed.length - 4, 'the header holds the body length');
  return framed.subarray(4);
};

test('the encoder writes the reference Greet, GreetResponse and RegisterMetrics byte for byte', () => {
  assert.equal(encodeGreet('acc', { alumetCoreVersion: '0.9.5', relayPluginVersion: '0.6.0', protocolVersion: 2 }).toString('hex'), GREET.toString('hex'));
  assert.equal(
    encodeGreetResponse('', { accept: true, serverAlumetCoreVersion: '0.9.5', serverRelayPluginVersion: '0.6.0', protocolVersion: 2 }).toString('hex'),
    GREET_RESPONSE.toString('hex'),
  );
  const metric: WireMetric = { id: 1, name: 'acc_energy', valueType: 'F64', unit: { base: 'J', prefix: '' } };
  assert.equal(encodeRegisterMetrics('acc', [metric]).toString('hex'), REGISTER.toString('hex'));
});

test('the encoder writes the reference SendMeasurements from a batch byte for byte', () => {
  const b = new BatchBuilder();
  b.push({ id: 1, name: 'acc_energy', type: F64 }, { sec: 1700000000, nsec: 5 }, 1.5);
  assert.equal(encodeMeasurements('acc', b.take(), () => undefined).toString('hex'), SEND.toString('hex'));
});

test('the decoders read the reference messages back', () => {
  const greet = readMessageStart(body(GREET));
  assert.deepEqual([greet.sender, greet.variant], ['acc', Variant.Greet]);
  assert.deepEqual(readGreet(greet.reader), { alumetCoreVersion: '0.9.5', relayPluginVersion: '0.6.0', protocolVersion: 2 });
  assert.equal(greet.reader.remaining, 0);

  const answer = readMessageStart(body(GREET_RESPONSE));
  assert.deepEqual([answer.sender, answer.variant], ['', Variant.GreetResponse]);
  assert.deepEqual(readGreetResponse(answer.reader), { accept: true, serverAlumetCoreVersion: '0.9.5', serverRelayPluginVersion: '0.6.0', protocolVersion: 2 });

  const register = readMessageStart(body(REGISTER));
  assert.deepEqual([register.sender, register.variant], ['acc', Variant.RegisterMetrics]);
  assert.deepEqual(readRegisterMetrics(register.reader), [{ id: 1, name: 'acc_energy', valueType: 'F64', unit: { base: 'J', prefix: '' } }]);

  const send = readMessageStart(body(SEND));
  assert.deepEqual([send.sender, send.variant], ['acc', Variant.SendMeasurements]);
  const { batch, dropped } = new MeasurementDecoder().decode(send.reader, send.sender, (id) => (id === 1 ? 7 : undefined));
  assert.equal(dropped, 0);
  assert.equal(send.reader.remaining, 0);
  assert.deepEqual([...batch.points()], [
    {
      metric: 7,
      timestamp: { sec: 1700000000, nsec: 5 },
      value: 1.5,
      resource: { kind: 'local_machine', id: '' },
      consumer: { kind: 'local_machine', id: '' },
      attributes: [['relay_client', 'acc']],
    },
  ]);
});

// ---------------------------------------------------------------------------------------------------------
// Random messages

/** mulberry32: a small seeded generator, so that a failure can be replayed from its seed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const U64_EXTREMES = [0n, 1n, 127n, 128n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
const F64_SPECIALS = [0, -0, 1.5, -1e300, Number.MIN_VALUE, Number.MAX_VALUE, Infinity, -Infinity, NaN];
const TEXTS = ['', 'a', 'local_machine', 'é', 'Ωmega', '日本語の名前', '🔋⚡', 'tab\there', 'quote";', '\u0000nul', 'x'.repeat(200)];

function randomCase(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number): number => Math.floor(rand() * n);
  const u64 = (): bigint => (rand() < 0.5 ? pick(U64_EXTREMES) : (BigInt(int(2 ** 32)) << 32n) | BigInt(int(2 ** 32)));
  const f64 = (): number => (rand() < 0.3 ? pick(F64_SPECIALS) : (rand() - 0.5) * 10 ** int(40));
  const text = (): string => (rand() < 0.6 ? pick(TEXTS) : String.fromCodePoint(...Array.from({ length: int(6) }, () => pick([0x41 + int(26), 0xe9, 0x3a9, 0x65e5, 0x1f50b]))));
  const attrValue = (): AttrValue => {
    switch (int(5)) {
      case 0:
        return f64();
      case 1:
        return u64();
      case 2:
        return rand() < 0.5;
      case 3:
        return text();
      default:
        return Array.from({ length: int(4) }, u64);
    }
  };
  const resource = () => pick([{ kind: 'local_machine', id: '' }, { kind: 'cpu_core', id: String(int(64)) }, { kind: 'dram', id: '4294967295' }, { kind: 'gpu', id: text() }, { kind: `custom-${text()}`, id: text() }]);
  const consumer = () => pick([{ kind: 'local_machine', id: '' }, { kind: 'process', id: String(int(2 ** 22)) }, { kind: 'cgroup', id: `/${text()}` }, { kind: `custom-${text()}`, id: text() }]);
  const sender = text();
  const b = new BatchBuilder(4);
  const points = int(40);
  for (let i = 0; i < points; i++) {
    const type: ValueType = rand() < 0.5 ? U64 : F64;
    const metric = { id: int(65536), name: 'm', type };
    const attributes: Attributes = Array.from({ length: int(4) }, () => [text(), attrValue()] as const);
    b.push(metric, { sec: int(2 ** 33), nsec: int(1e9) }, type === U64 ? u64() : f64(), { resource: resource(), consumer: consumer(), attributes });
  }
  const metrics: WireMetric[] = Array.from({ length: int(5) }, () => ({
    id: int(65536),
    name: text(),
    valueType: rand() < 0.5 ? 'F64' : 'U64',
    unit: { base: pick(['1', 'J', 'By', 'W.h', 'Cel', '[degF]']), prefix: pick(['', 'nano', 'milli', 'kilo', 'giga']) },
  }));
  return { sender, batch: b.take(), metrics, u64, text, rand };
}

/** Feeds `bytes` to a frame reader in pieces of random sizes; returns the bodies it gives. */
function reframe(bytes: Buffer, rand: () => number): Buffer[] {
  const reader = new FrameReader();
  const bodies: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(rand() * 300);
    reader.push(bytes.subarray(at, at + n));
    at += n;
    for (let b = reader.next(); b !== undefined; b = reader.next()) bodies.push(b);
  }
  assert.equal(reader.buffered, 0, 'nothing left over');
  return bodies;
}

const withRelayClient = (p: PointView, sender: string): PointView => ({ ...p, attributes: [...p.attributes, ['relay_client', sender]] });

test('random messages of every variant survive encoding, frames cut anywhere and decoding (500 seeds)', () => {
  for (let seed = 1; seed <= 500; seed++) {
    const rand = generator(seed);
    const c = randomCase(rand);
    const greet = { alumetCoreVersion: c.text(), relayPluginVersion: c.text(), protocolVersion: Math.floor(rand() * 2 ** 32) };
    const answer = { accept: rand() < 0.5, serverAlumetCoreVersion: c.text(), serverRelayPluginVersion: c.text(), protocolVersion: Math.floor(rand() * 2 ** 32) };
    const stream = Buffer.concat([
      encodeGreet(c.sender, greet),
      encodeGreetResponse(c.sender, answer),
      encodeRegisterMetrics(c.sender, c.metrics),
      encodeMeasurements(c.sender, c.batch, () => undefined),
    ]);
    const [g, a, r, s] = reframe(stream, rand).map(readMessageStart);
    const where = `seed ${seed}`;
    assert.deepEqual(readGreet(g!.reader), greet, where);
    assert.deepEqual(readGreetResponse(a!.reader), answer, where);
    assert.deepEqual(readRegisterMetrics(r!.reader), c.metrics, where);
    assert.equal(s!.sender, c.sender, where);
    const { batch, dropped } = new MeasurementDecoder().decode(s!.reader, s!.sender, (id) => id);
    assert.equal(dropped, 0, where);
    assert.equal(s!.reader.remaining, 0, where);
    assert.deepEqual([...batch.points()], [...c.batch.points()].map((p) => withRelayClient(p, c.sender)), where);
    // f64 values keep their bits (a NaN its payload), u64 values every bit.
    assert.deepEqual(batch.valueWords.subarray(0, 2 * batch.length), c.batch.valueWords.subarray(0, 2 * c.batch.length), where);
  }
});

test('an extra attribute (a custom unit) follows the point\'s own attributes, for the metrics that ask for it', () => {
  const b = new BatchBuilder();
  b.push({ id: 3, name: 'carbon_emission', type: F64 }, { sec: 1, nsec: 0 }, 2.5, { attributes: [['domain', 'package']] });
  b.push({ id: 4, name: 'other', type: U64 }, { sec: 1, nsec: 0 }, 9n);
  const unit = encodedAttribute('unit', 'g_CO2');
  const s = readMessageStart(body(encodeMeasurements('a', b.take(), (m) => (m === 3 ? unit : undefined))));
  const { batch } = new MeasurementDecoder().decode(s.reader, s.sender, (id) => id);
  assert.deepEqual(batch.pointAt(0).attributes, [['domain', 'package'], ['unit', 'g_CO2'], ['relay_client', 'a']]);
  assert.deepEqual(batch.pointAt(1).attributes, [['relay_client', 'a']]);
});

test('resources and consumers are parsed as the Rust server does; a point it refuses is dropped alone', () => {
  const b = new BatchBuilder();
  const m = { id: 0, name: 'x', type: U64 } as const;
  const at = { sec: 1, nsec: 0 };
  b.push(m, at, 1n, { resource: { kind: 'cpu_core', id: '007' }, consumer: { kind: 'process', id: '+42' } });
  b.push(m, at, 2n, { resource: { kind: 'local_machine', id: 'x' } });
  b.push(m, at, 3n, { resource: { kind: 'gpu_partition', id: '0/1' }, consumer: { kind: 'local_machine', id: '' } });
  b.push(m, at, 4n, { consumer: { kind: 'process', id: '4294967296' } });
  b.push(m, at, 5n, { resource: { kind: 'dram', id: '-1' } });
  const s = readMessageStart(body(encodeMeasurements('a', b.take(), () => undefined)));
  const { batch, dropped, firstDropReason } = new MeasurementDecoder().decode(s.reader, s.sender, (id) => id);
  assert.deepEqual(
    [...batch.points()].map((p) => [p.value, p.resource, p.consumer]),
    [
      [1n, { kind: 'cpu_core', id: '7' }, { kind: 'process', id: '42' }],
      [3n, { kind: 'gpu_partition', id: '0/1' }, { kind: 'local_machine', id: '' }],
    ],
  );
  assert.equal(dropped, 3);
  assert.equal(firstDropReason, 'invalid resource identifier for kind local_machine: "x" (it must be empty)');
});

test('every cut of a valid body, and every single-byte change of it, is a DecodeError or a valid message', () => {
  const rand = generator(99);
  const c = randomCase(rand);
  const bodies = [encodeGreet('acc', { alumetCoreVersion: 'é', relayPluginVersion: '0.6.0', protocolVersion: 2 }), encodeRegisterMetrics('acc', c.metrics), encodeMeasurements('🔋', c.batch, () => undefined)].map(body);
  const decodeAll = (bytes: Buffer): void => {
    const s = readMessageStart(bytes);
    if (s.variant === Variant.Greet) readGreet(s.reader);
    else if (s.variant === Variant.GreetResponse) readGreetResponse(s.reader);
    else if (s.variant === Variant.RegisterMetrics) readRegisterMetrics(s.reader);
    else new MeasurementDecoder().decode(s.reader, s.sender, () => 0);
  };
  let errors = 0;
  for (const full of bodies) {
    for (let cut = 0; cut < full.length; cut++) {
      assert.throws(() => decodeAll(full.subarray(0, cut)), DecodeError, `cut at ${cut} of ${full.length}`);
      errors++;
    }
    for (let i = 0; i < full.length; i++) {
      const changed = Buffer.from(full);
      changed[i] = Math.floor(rand() * 256);
      try {
        decodeAll(changed);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `byte ${i} changed: ${(e as Error).stack}`);
      }
    }
  }
  assert.ok(errors > 100);
});

test('the decoder refuses what postcard refuses, saying what and where', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['an unknown message variant', hex('01 61 07'), /unknown message variant 7/],
    ['a bool that is not 0 or 1', hex('00 01 02 00 00 02'), /GreetResponse.accept: 2 is not a bool/],
    ['invalid UTF-8 in the sender', hex('02 c3 28 00'), /the sender: invalid UTF-8 at byte 1/],
    ['a string longer than the body', hex('05 61 62'), /the sender: a length of 5 is more than the message holds/],
    ['a u32 varint of 6 bytes', hex('00 00 01 00 00 ff ff ff ff ff 01'), /Greet.protocol_version: not a u32 varint/],
    ['a u32 over 2^32 - 1', hex('00 00 01 00 00 80 80 80 80 10'), /Greet.protocol_version: not a u32 varint/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(
      () => {
        const s = readMessageStart(bytes);
        if (s.variant === Variant.Greet) readGreet(s.reader);
        else readGreetResponse(s.reader);
      },
      (e: unknown) => e instanceof DecodeError && message.test(e.message),
      what,
    );
  }
  const point = (valueTag: string) => hex(`01 61 03 01 00 00 00 ${valueTag} 00 00 00 00 00`);
  assert.throws(() => {
    const s = readMessageStart(point('02 01'));
    new MeasurementDecoder().decode(s.reader, s.sender, () => 0);
  }, /a point's value must be the variant F64 \(0\) or U64 \(1\), got 2/);
  assert.throws(() => {
    const s = readMessageStart(point('01 05'));
    new MeasurementDecoder().decode(s.reader, s.sender, () => undefined);
  }, /a point of metric id 0, which the client has not registered/);
  const reader = new FrameReader();
  reader.push(hex('01 e8 48 01'));
  assert.throws(() => reader.next(), /a message body of 32000001 bytes, over the limit of 32000000/);
});

test('a batch of the points of one series stores their attribute list once', () => {
  const b = new BatchBuilder();
  for (let i = 0; i < 100; i++) b.push({ id: 0, name: 'x', type: U64 }, { sec: i, nsec: 0 }, BigInt(i), { attributes: [['cpu', 'cpu0']] });
  const s = readMessageStart(body(encodeMeasurements('a', b.take(), () => undefined)));
  const decoded: Batch = new MeasurementDecoder().decode(s.reader, s.sender, (id) => id).batch;
  assert.equal(decoded.length, 100);
  assert.equal(decoded.attrSets.length, 1);
});
