// Test helper: raw relay peers on loopback TCP — a client that writes chosen bytes and reads the server's
// messages, and a server that accepts clients and records what they send — built on the plugins' own codec,
// so that tests can speak the protocol correctly, or break it on purpose. Main thread.

import { connect, createServer, type Server, type Socket } from 'node:net';
import { BatchBuilder } from '../../src/protocol/batch-builder.js';
import { F64, U64, type Attributes, type Batch, type PointView, type ResourceRef } from '../../src/protocol/batch.js';
import { encodeMeasurements } from '../../src/plugins/relay-client/encode-measurements.js';
import { MeasurementDecoder } from '../../src/plugins/relay-server/decode-measurements.js';
import { FrameReader } from '../../src/plugins/shared/relay-frames.js';
import {
  Variant,
  encodeGreet,
  encodeGreetResponse,
  encodeRegisterMetrics,
  readGreet,
  readGreetResponse,
  readMessageStart,
  readRegisterMetrics,
  type Greet,
  type GreetResponse,
  type WireMetric,
} from '../../src/plugins/shared/relay-messages.js';
import { waitFor } from './agent-process.js';

export { freePort } from './prometheus.js';

/** One decoded message. SendMeasurements points keep the client's metric ids. */
export type RelayMessage =
  | { sender: string; type: 'greet'; greet: Greet }
  | { sender: string; type: 'greet-response'; answer: GreetResponse }
  | { sender: string; type: 'register-metrics'; metrics: WireMetric[] }
  | { sender: string; type: 'send-measurements'; points: PointView[] };

export function decodeMessage(body: Buffer): RelayMessage {
  const { sender, variant, reader } = readMessageStart(body);
  switch (variant) {
    case Variant.Greet:
      return { sender, type: 'greet', greet: readGreet(reader) };
    case Variant.GreetResponse:
      return { sender, type: 'greet-response', answer: readGreetResponse(reader) };
    case Variant.RegisterMetrics:
      return { sender, type: 'register-metrics', metrics: readRegisterMetrics(reader) };
    default: {
      const { batch } = new MeasurementDecoder().decode(reader, sender, (id) => id);
      // The decoder adds relay_client, as the server does; a test of the client wants what was sent.
      return { sender, type: 'send-measurements', points: [...batch.points()].map((p) => ({ ...p, attributes: p.attributes.slice(0, -1) })) };
    }
  }
}

/** A TCP connection speaking (or not) the relay protocol. */
export class RelayPeer {
  readonly socket: Socket;
  readonly messages: RelayMessage[] = [];
  readonly closed: Promise<void>;
  #frames = new FrameReader();
  /** A body that could not be decoded (the peer then stops decoding). */
  error: Error | undefined;
  /** Called with each message as it is decoded (a server answering Greets, say). */
  onMessage: ((m: RelayMessage) => void) | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (this.error !== undefined) return;
      this.#frames.push(chunk);
      try {
        for (let body = this.#frames.next(); body !== undefined; body = this.#frames.next()) {
          const m = decodeMessage(body);
          this.messages.push(m);
          this.onMessage?.(m);
        }
      } catch (e) {
        this.error = e as Error;
      }
    });
  }

  static connect(port: number): Promise<RelayPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RelayPeer(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes bytes; resolves once the system has taken them (or at once if the connection is gone). */
  send(...parts: Uint8Array[]): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(Buffer.concat(parts), () => resolve());
    });
  }

  /** Waits for the `n`-th message (1-based) to have come. */
  async message(n: number, what: string): Promise<RelayMessage> {
    await waitFor(() => this.messages.length >= n, { what, seen: () => `${this.messages.length} messages: ${this.messages.map((m) => m.type).join(', ')}${this.error ? `; error ${this.error.message}` : ''}` });
    return this.messages[n - 1]!;
  }

  /** Greets as `name` and waits for the answer. */
  async greet(name: string, protocolVersion = 2): Promise<GreetResponse> {
    await this.send(greetMessage(name, protocolVersion));
    const answer = await this.message(this.messages.length + 1, `the answer to ${name}'s Greet`);
    if (answer.type !== 'greet-response') throw new Error(`answered with ${answer.type}`);
    return answer.answer;
  }
}

/** Makes `peer` answer every Greet as a server of protocol `protocolVersion` would (accepting version 2 only). */
export function answerGreets(peer: RelayPeer, protocolVersion = 2): void {
  peer.onMessage = (m) => {
    if (m.type !== 'greet') return;
    void peer.send(encodeGreetResponse('', { accept: m.greet.protocolVersion === protocolVersion, serverAlumetCoreVersion: '0.9.5', serverRelayPluginVersion: '0.6.0', protocolVersion }));
  };
}

export function greetMessage(name: string, protocolVersion = 2): Buffer {
  return encodeGreet(name, { alumetCoreVersion: '0.9.5', relayPluginVersion: '0.6.0', protocolVersion });
}

export function registerMessage(sender: string, metrics: Array<[id: number, name: string, type: 'F64' | 'U64', base?: string, prefix?: string]>): Buffer {
  return encodeRegisterMetrics(
    sender,
    metrics.map(([id, name, valueType, base = '1', prefix = '']) => ({ id, name, valueType, unit: { base, prefix } })),
  );
}

export interface PeerPoint {
  metric: number;
  value: number | bigint;
  sec?: number;
  nsec?: number;
  resource?: ResourceRef;
  consumer?: ResourceRef;
  attributes?: Attributes;
}

export function batchOfPoints(points: readonly PeerPoint[]): Batch {
  const b = new BatchBuilder(Math.max(1, points.length));
  for (const p of points) {
    const type = typeof p.value === 'bigint' ? U64 : F64;
    b.push({ id: p.metric, name: 'm', type }, { sec: p.sec ?? 1_700_000_000, nsec: p.nsec ?? 0 }, p.value, p);
  }
  return b.take();
}

export function measurementsMessage(sender: string, points: readonly PeerPoint[]): Buffer {
  return encodeMeasurements(sender, batchOfPoints(points), () => undefined);
}

/** A raw relay server on 127.0.0.1: every client it accepts, and what it does with each (answer it, or not). */
export interface RawRelayServer {
  readonly port: number;
  readonly peers: RelayPeer[];
  /** Every message of every client, in order of arrival per client. */
  messages(): RelayMessage[];
  close(): Promise<void>;
}

export function rawRelayServer(onPeer: (peer: RelayPeer) => void, port = 0): Promise<RawRelayServer> {
  const peers: RelayPeer[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const peer = new RelayPeer(socket);
    peers.push(peer);
    onPeer(peer);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        port: (server.address() as { port: number }).port,
        peers,
        messages: () => peers.flatMap((p) => p.messages),
        close: () =>
          new Promise((done) => {
            for (const p of peers) p.socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
