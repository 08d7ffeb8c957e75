// One relay client's connection to the server (worker thread of the relay-server's listener): its frames,
// its handshake, its metric id map and its points, which go out through its own run-time source element
// (client-source.ts) once that element is attached. Messages are handled one at a time, in order; while
// one waits (for the element, a metric registration, or the consumers' credit), or the element or the
// listener is paused, the socket is not read, so the client waits (TCP backpressure) and nothing is lost.
// Bad input (a broken or oversized message, an unknown metric id, a client that stalls mid-message)
// closes this connection alone, with one warning naming the client.

import type { Socket } from 'node:net';
import { UNITS, type ElementContext, type Log, type NewMetric, type SourceOutlet, type Unit } from '../../protocol/element-api.js';
import { F64, U64 } from '../../protocol/element-api.js';
import { DecodeError, type PostcardReader } from '../shared/postcard.js';
import {
  ALUMET_CORE_VERSION,
  MAX_METRIC_ID,
  PROTOCOL_VERSION,
  RELAY_PLUGIN_VERSION,
  Variant,
  encodeGreetResponse,
  readGreet,
  readMessageStart,
  readRegisterMetrics,
  variantName,
  type WireMetric,
} from '../shared/relay-messages.js';
import { MeasurementDecoder } from './decode-measurements.js';
import { FrameReader } from '../shared/relay-frames.js';

/** How long a closing server waits for a client to close its side once it has sent everything. */
export const CLOSE_GRACE_MS = 2000;

/** Prefixes as Rust's `UnitPrefix::from_str` reads them: the unique names, or the symbols. */
const PREFIX_NAMES: Readonly<Record<string, string>> = {
  '': '',
  nano: 'nano',
  micro: 'micro',
  milli: 'milli',
  kilo: 'kilo',
  mega: 'mega',
  giga: 'giga',
  n: 'nano',
  μ: 'micro',
  m: 'milli',
  k: 'kilo',
  M: 'mega',
  G: 'giga',
};

export interface ConnectionOptions {
  /** The listener's element name and log, for the lines about this client. */
  readonly listenerName: string;
  readonly log: Log;
  readonly frameTimeoutMs: number;
  /** The client's Greet was accepted: its element should be created (it calls `attach`). */
  readonly greeted: (connection: RelayConnection, clientName: string) => void;
  /** The connection is closed for good. */
  readonly closed: (connection: RelayConnection) => void;
}

/** A message the protocol does not allow at this point (the Rust server's task would panic or fail on it). */
class ProtocolError extends Error {}

let nextConnectionId = 1;

/** Connections whose client has greeted, by id: what the client elements (client-source.ts, same thread) attach to. */
export const connections = new Map<number, RelayConnection>();

export class RelayConnection {
  readonly id = nextConnectionId++;
  /** `127.0.0.1:53422`, `[::1]:53422`: who the warnings name. */
  readonly peer: string;
  /** The element that sends this client's points (`client-<name>`), once asked for. */
  element: string | undefined;
  readonly #socket: Socket;
  readonly #o: ConnectionOptions;
  readonly #frames = new FrameReader();
  readonly #decoder = new MeasurementDecoder();
  /** The client's metric ids → this agent's. */
  readonly #metricIds = new Map<number, number>();
  #clientName: string | undefined;
  #outlet: SourceOutlet | undefined;
  #ctx: ElementContext | undefined;
  #pausedByElement = false;
  #pausedByListener: boolean;
  /** A message is waiting for the element, a metric registration or the consumers' credit. */
  #waiting = false;
  #processing = false;
  #clientEnded = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #whenClosed: Promise<void>;
  #resolveClosed!: () => void;
  #stallTimer: NodeJS.Timeout | undefined;
  #greetTimer: NodeJS.Timeout | undefined;
  #points = 0;
  #droppedPoints = 0;
  /** Metrics this client has registered so far (bounded, so that a client cannot grow the registry forever). */
  #registrations = 0;
  #warnedLeftover = false;

  constructor(socket: Socket, options: ConnectionOptions, listenerPaused: boolean) {
    this.#socket = socket;
    this.#o = options;
    this.#pausedByListener = listenerPaused;
    this.peer = socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]:${socket.remotePort}` : `${socket.remoteAddress}:${socket.remotePort}`;
    this.#whenClosed = new Promise((resolve) => (this.#resolveClosed = resolve));
    socket.on('data', (chunk: Buffer) => {
      this.#frames.push(chunk);
      void this.#process();
    });
    socket.on('end', () => {
      this.#clientEnded = true;
      void this.#process();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => this.#close(`connection error: ${e.code ?? e.message}`, true));
    socket.on('close', () => this.#close('connection closed', true));
    this.#greetTimer = setTimeout(() => this.#refuse(`sent no Greet within ${options.frameTimeoutMs} ms of connecting`), options.frameTimeoutMs);
    this.#updateFlow();
  }

  /** The client element is running: from now on the client's points go out through `outlet`. */
  attach(outlet: SourceOutlet, ctx: ElementContext): void {
    if (this.#closed) {
      outlet.end('its client had disconnected before the element started');
      return;
    }
    this.#outlet = outlet;
    this.#ctx = ctx;
    this.#waiting = false;
    void this.#process();
  }

  /** The client's element is paused (or resumed): its socket is not read meanwhile. */
  setPaused(paused: boolean): void {
    this.#pausedByElement = paused;
    if (!paused) void this.#process();
    this.#updateFlow();
  }

  /** The listener is paused (or resumed): every client's socket waits. */
  setListenerPaused(paused: boolean): void {
    this.#pausedByListener = paused;
    if (!paused) void this.#process();
    this.#updateFlow();
  }

  /**
   * Closes the connection in order: the server ends its side (a client of ours then stops sending and ends
   * its own), everything the client sent before is read and handed out, then the socket closes. A client
   * that keeps its side open is cut off after CLOSE_GRACE_MS. Safe more than once.
   */
  finish(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#closed) return;
      // What it sent is read to the end, even by a paused element: closing must lose nothing.
      this.#pausedByElement = false;
      this.#pausedByListener = false;
      this.#socket.end();
      const grace = setTimeout(() => this.#close(`did not close its side within ${CLOSE_GRACE_MS} ms of the server's end`, true), CLOSE_GRACE_MS);
      if (this.#outlet === undefined) this.#close('the server closed before its element started', true);
      void this.#process();
      await this.#whenClosed;
      clearTimeout(grace);
    })();
    return this.#closing;
  }

  get #held(): boolean {
    return this.#pausedByElement || this.#pausedByListener || this.#waiting;
  }

  /** Reads the socket only while messages can be handled; a partial message must go on arriving meanwhile. */
  #updateFlow(): void {
    if (this.#closed) return;
    const flowing = !this.#held;
    if (flowing) this.#socket.resume();
    else this.#socket.pause();
    clearTimeout(this.#stallTimer);
    this.#stallTimer =
      flowing && this.#frames.buffered > 0
        ? setTimeout(() => this.#refuse(`sent ${this.#frames.buffered} bytes of a message and nothing more for ${this.#o.frameTimeoutMs} ms`), this.#o.frameTimeoutMs)
        : undefined;
  }

  async #process(): Promise<void> {
    if (this.#processing || this.#closed) return;
    this.#processing = true;
    try {
      while (!this.#closed && !this.#held) {
        const body = this.#frames.next();
        if (body === undefined) break;
        await this.#handle(body);
      }
    } catch (e) {
      this.#refuse(e instanceof DecodeError || e instanceof ProtocolError ? e.message : `could not handle its message: ${(e as Error).message}`);
      return;
    } finally {
      this.#processing = false;
    }
    if (this.#clientEnded && !this.#held && !this.#closed) {
      const left = this.#frames.buffered;
      if (left > 0) this.#refuse(`closed its connection in the middle of a message (${left} bytes of it received)`);
      else this.#close('the client closed its connection', true);
      return;
    }
    this.#updateFlow();
  }

  async #handle(body: Buffer): Promise<void> {
    const { sender, variant, reader } = readMessageStart(body);
    if (variant === Variant.Greet) this.#greet(sender, reader);
    else if (this.#clientName === undefined) throw new ProtocolError(`sent a ${variantName(variant)} message before its Greet`);
    else if (variant === Variant.RegisterMetrics) await this.#register(sender, readRegisterMetrics(reader));
    else if (variant === Variant.SendMeasurements) await this.#measurements(sender, reader);
    else throw new ProtocolError('sent a GreetResponse, which only a server sends');
    if (reader.remaining > 0 && !this.#warnedLeftover) {
      this.#warnedLeftover = true;
      this.#o.log.warn(`${this.#about()}: ${reader.remaining} bytes left over after a ${variantName(variant)} message were ignored (said once per connection)`);
    }
  }

  #greet(sender: string, reader: PostcardReader): void {
    const greet = readGreet(reader);
    const accept = greet.protocolVersion === PROTOCOL_VERSION;
    this.#socket.write(
      encodeGreetResponse('', { accept, serverAlumetCoreVersion: ALUMET_CORE_VERSION, serverRelayPluginVersion: RELAY_PLUGIN_VERSION, protocolVersion: PROTOCOL_VERSION }),
    );
    if (!accept) {
      this.#refuse(
        `speaks relay protocol version ${greet.protocolVersion} (alumet ${greet.alumetCoreVersion}, relay plugin ${greet.relayPluginVersion}); this server speaks version ${PROTOCOL_VERSION}: answered accept = false`,
        true,
        sender,
      );
      return;
    }
    if (this.#clientName !== undefined) return; // greeted again: answered again, nothing else changes
    clearTimeout(this.#greetTimer);
    this.#clientName = sender;
    this.#waiting = true; // for the element
    this.#o.greeted(this, sender);
  }

  async #register(sender: string, metrics: WireMetric[]): Promise<void> {
    this.#registrations += metrics.length;
    if (this.#registrations > MAX_METRIC_ID + 1) throw new ProtocolError(`registered more than ${MAX_METRIC_ID + 1} metrics on one connection`);
    const wanted: NewMetric[] = metrics.map((m) => {
      if (m.id > MAX_METRIC_ID) throw new ProtocolError(`metric ${JSON.stringify(m.name)} has the id ${m.id}, over ${MAX_METRIC_ID}`);
      return { name: m.name, type: m.valueType === 'F64' ? F64 : U64, unit: unitOf(m), description: 'remote metric via plugin_relay' };
    });
    this.#waiting = true;
    this.#updateFlow();
    try {
      const registered = await this.#ctx!.registerMetrics(wanted, `relay-client-${sender}`);
      registered.forEach((info, i) => this.#metricIds.set(metrics[i]!.id, info.id));
    } finally {
      this.#waiting = false;
    }
  }

  async #measurements(sender: string, reader: PostcardReader): Promise<void> {
    const { batch, dropped, firstDropReason } = this.#decoder.decode(reader, sender, (id) => this.#metricIds.get(id));
    if (dropped > 0) {
      if (this.#droppedPoints === 0) this.#o.log.warn(`${this.#about()}: dropped a point (and will drop any other alike, counted at disconnection): ${firstDropReason}`);
      this.#droppedPoints += dropped;
    }
    this.#points += batch.length;
    const outlet = this.#outlet!;
    outlet.send(batch);
    if (outlet.ready) return;
    this.#waiting = true;
    this.#updateFlow();
    try {
      await outlet.whenReady();
    } finally {
      this.#waiting = false;
    }
  }

  /**
   * Bad input: one warning naming the client, then the connection closes. `answered`: an answer was just
   * written (a refused Greet's), so the socket is ended, not destroyed, and the client gets it.
   */
  #refuse(reason: string, answered = false, sender = this.#clientName): void {
    if (this.#closed) return;
    this.#o.log.warn(`${this.#about(sender)}: ${reason}; closing its connection`);
    if (answered) {
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS).unref();
    }
    this.#close(reason, false, !answered);
  }

  /** The connection is over: the socket goes, the element ends (it is then removed), the listener forgets it. */
  #close(reason: string, log: boolean, destroy = true): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#stallTimer);
    clearTimeout(this.#greetTimer);
    if (destroy) this.#socket.destroy();
    const dropped = this.#droppedPoints > 0 ? `, ${this.#droppedPoints} points dropped for their resource or consumer` : '';
    if (log) this.#o.log.info(`${this.#about()}: ${reason} (${this.#points} points received${dropped})`);
    this.#outlet?.end(`${this.#about()}: ${reason}`);
    this.#o.closed(this);
    this.#resolveClosed();
  }

  /** `source/relay-server/tcp_server: client 127.0.0.1:53422 ("node-3")`. */
  #about(sender = this.#clientName): string {
    return `${this.#o.listenerName}: client ${this.peer}${sender === undefined ? '' : ` (${JSON.stringify(sender)})`}`;
  }
}

/** The unit of a registered metric: a standard base unit with a known prefix, as the Rust server requires. */
function unitOf(m: WireMetric): Unit {
  const { base, prefix } = m.unit;
  if (!Object.hasOwn(UNITS, base)) {
    throw new ProtocolError(
      `metric ${JSON.stringify(m.name)} has the unit ${JSON.stringify(base)}, which is not a standard unit (${Object.keys(UNITS).join(', ')}); a Rust relay server refuses it too`,
    );
  }
  const unique = PREFIX_NAMES[prefix];
  if (unique === undefined || !Object.hasOwn(PREFIX_NAMES, prefix)) {
    throw new ProtocolError(`metric ${JSON.stringify(m.name)} has the unit prefix ${JSON.stringify(prefix)}, which is not one of nano, micro, milli, kilo, mega, giga (or n, μ, m, k, M, G)`);
  }
  return { base, prefix: unique };
}
