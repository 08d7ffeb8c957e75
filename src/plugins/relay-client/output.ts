// The relay client, `output/relay-client/tcp_client` (worker thread): sends every point to a relay server.
// The agent gathers the points into writes of `buffer_max_length` (a smaller one after `buffer_timeout`, a
// real timer) and keeps them in this output's backlog while the server is unreachable. Each write: connect
// and greet if need be (then register every metric this agent has), register the metrics that appeared
// since, and send one SendMeasurements message. A write that fails keeps its points; the agent writes them
// again after the retry delay, on a new connection, where the metrics are registered again.

import { U64, UNITS, defineOutput, parseDuration, unitUniqueName, type Batch, type ElementContext, type MetricInfo, type Output, type WriteOutcome } from '../../protocol/element-api.js';
import { MAX_BODY_BYTES, HEADER_BYTES, encodeRegisterMetrics, type WireMetric } from '../shared/relay-messages.js';
import { formatSocketAddress, parseSocketAddress, type SocketAddress } from '../shared/socket-address.js';
import type { RelayOutputConfig } from './config.js';
import { encodeMeasurements, encodedAttribute } from './encode-measurements.js';
import { SendAttempts } from '../shared/send-attempts.js';
import { ServerLink } from './server-link.js';

/** The attribute that carries a custom unit, which a Rust server would refuse as the metric's unit. */
export const UNIT_ATTRIBUTE = 'unit';

const ms = (duration: string): number => Number(parseDuration(duration) / 1_000_000n);

class RelayOutput implements Output {
  readonly batching;
  readonly #config: RelayOutputConfig;
  readonly #ctx: ElementContext;
  readonly #server: SocketAddress;
  readonly #attempts: SendAttempts;
  #link: ServerLink | undefined;
  /** Metric ids registered on the current link. */
  #registered = new Set<number>();
  /** The `unit` attribute of the points of each metric with a custom unit, by metric id (undefined: none). */
  readonly #unitAttributes = new Map<number, Buffer | undefined>();

  constructor(config: RelayOutputConfig, ctx: ElementContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.#server = parseSocketAddress(config.relay_server, 1) as SocketAddress; // the plugin's check has refused anything else
    this.batching = { maxPoints: config.buffer_max_length, flushIntervalMs: ms(config.buffer_timeout), backlogPoints: config.max_backlog_points };
    // The Rust client gives up after the first attempt and retry.max_times retries; this one says so, and goes on.
    this.#attempts = new SendAttempts({
      name: ctx.name,
      target: formatSocketAddress(this.#server),
      minBackoffMs: ms(config.retry.initial_delay),
      maxBackoffMs: ms(config.retry.max_delay),
      errorAfterFailures: config.retry.max_times + 1,
      log: ctx.log,
    });
  }

  async write(batch: Batch): Promise<void | WriteOutcome> {
    // A metric this output does not know could not be registered: its points are refused, the rest sent.
    const unknown = this.#unknownMetricPoints(batch);
    const sendable = unknown === 0 ? batch : batch.filter((i) => this.#ctx.metrics.has(batch.metric[i]!));
    try {
      const link = await this.#connected();
      await this.#registerNewMetrics(link, sendable);
      if (sendable.length > 0) for (const message of this.#messagesOf(sendable)) await link.write(message);
    } catch (e) {
      this.#link?.close();
      this.#link = undefined;
      return this.#attempts.retry((e as Error).message);
    }
    this.#attempts.accepted();
    return unknown === 0 ? undefined : { rejected: unknown };
  }

  #unknownMetricPoints(batch: Batch): number {
    let unknown = 0;
    for (let i = 0; i < batch.length; i++) if (!this.#ctx.metrics.has(batch.metric[i]!)) unknown++;
    if (unknown > 0) this.#ctx.log.error(`${this.#ctx.name}: ${unknown} points of metrics this agent never registered cannot be sent; they are dropped (dropped_rejected)`);
    return unknown;
  }

  close(): void {
    this.#link?.close();
    const { accepted, retries } = this.#attempts.stats;
    this.#ctx.log.info(`${this.#ctx.name}: ${accepted} writes to ${this.#config.relay_server} done, ${retries} failed attempts`);
  }

  /** The open link, or a new one: greeted, accepted, and told every metric this agent has. */
  async #connected(): Promise<ServerLink> {
    if (this.#link !== undefined && this.#link.failure === undefined) return this.#link;
    this.#link?.close();
    this.#link = undefined;
    const link = await ServerLink.open(this.#server, this.#config.client_name, ms(this.#config.handshake_timeout), this.#ctx.log);
    this.#registered = new Set();
    this.#link = link;
    const all = [...this.#ctx.metrics.values()].sort((a, b) => a.id - b.id);
    await this.#register(link, all);
    return link;
  }

  /** Metrics that appeared since the link was opened (registered while the agent runs) and have points here. */
  async #registerNewMetrics(link: ServerLink, batch: Batch): Promise<void> {
    let fresh: MetricInfo[] | undefined;
    for (let i = 0; i < batch.length; i++) {
      const id = batch.metric[i]!;
      if (this.#registered.has(id)) continue;
      (fresh ??= []).push(this.#ctx.metrics.get(id)!);
      this.#registered.add(id);
    }
    if (fresh !== undefined) await this.#register(link, fresh);
  }

  async #register(link: ServerLink, metrics: MetricInfo[]): Promise<void> {
    if (metrics.length === 0) return;
    for (const m of metrics) this.#registered.add(m.id);
    await link.write(encodeRegisterMetrics(this.#config.client_name, metrics.map((m) => this.#wireMetric(m))));
  }

  /** A metric as sent: a custom unit (energy-to-carbon's `g_CO2`) goes as the unity, its name in an attribute. */
  #wireMetric(m: MetricInfo): WireMetric {
    const custom = !Object.hasOwn(UNITS, m.unit.base);
    this.#unitAttributes.set(m.id, custom ? encodedAttribute(UNIT_ATTRIBUTE, unitUniqueName(m.unit)) : undefined);
    return { id: m.id, name: m.name, valueType: m.type === U64 ? 'U64' : 'F64', unit: custom ? { base: '1', prefix: '' } : { base: m.unit.base, prefix: m.unit.prefix } };
  }

  /** The batch as SendMeasurements messages: one, or halves of it until each fits the server's limit. */
  *#messagesOf(batch: Batch): Generator<Buffer> {
    const message = encodeMeasurements(this.#config.client_name, batch, (id) => this.#unitAttributes.get(id));
    if (message.length - HEADER_BYTES <= MAX_BODY_BYTES || batch.length === 1) {
      yield message;
      return;
    }
    const half = batch.length >> 1;
    yield* this.#messagesOf(batch.filter((i) => i < half));
    yield* this.#messagesOf(batch.filter((i) => i >= half));
  }
}

export default defineOutput<RelayOutputConfig>((config, ctx) => new RelayOutput(config, ctx));
