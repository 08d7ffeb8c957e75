// Test helper: an OTLP metrics receiver of the test's own on a free loopback port, over gRPC (a grpc-js server
// serving MetricsService/Export) or protobuf over HTTP (node:http at /v1/metrics). It decodes every request
// with the code protobufjs generated from the official opentelemetry-proto definitions (the static module of
// @opentelemetry/otlp-transformer 0.217.0, the last release that shipped it; the dev dependency
// `otlp-transformer-pbjs`), so what the output sends is read by another implementation than the one that
// wrote it. Each request is recorded with its headers and answered as the test says: accepted, a partial
// success, an error code or status, or a throttle with RetryInfo. It can stop and start again on the same
// port (outage tests). Main thread (also used by the bench).

import { createRequire } from 'node:module';
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { Metadata, Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { EXPORT_METHOD } from '../../src/plugins/opentelemetry/grpc-exporter.js';

/** An ExportMetricsServiceRequest as protobufjs's toObject gives it (longs as decimal strings, defaults filled). */
export interface DecodedRequest {
  resourceMetrics: Array<{
    resource: { attributes: DecodedKeyValue[] } | null;
    scopeMetrics: Array<{
      scope: { name: string; version: string; attributes: DecodedKeyValue[] } | null;
      metrics: Array<{
        name: string;
        description: string;
        unit: string;
        gauge?: { dataPoints: DecodedDataPoint[] };
        sum?: unknown;
        histogram?: unknown;
      }>;
    }>;
  }>;
}
export interface DecodedKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean } | null;
}
interface DecodedDataPoint {
  attributes: DecodedKeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  asDouble?: number;
  asInt?: string;
}

/** One data point with what it belongs to, flattened for assertions. */
export interface ReceivedPoint {
  metric: string;
  unit: string;
  description: string;
  /** Nanoseconds since the epoch, exact. */
  time: bigint;
  startTime: bigint;
  /** `as_double`; undefined if the point had another value field. */
  value: number | undefined;
  /** In the order received; every value a string (a non-string value makes the test fail). */
  attributes: Array<[string, string]>;
  resource: Array<[string, string]>;
  scope: { name: string; version: string; attributes: Array<[string, string]> };
}

export interface ReceivedRequest {
  /** HTTP headers, or the gRPC metadata as header-like pairs. */
  headers: Record<string, string>;
  body: DecodedRequest;
  points: ReceivedPoint[];
}

/** How to answer a request. */
export type Answer =
  | { accept: true; rejectedDataPoints?: number; errorMessage?: string }
  | { grpcCode: number; message: string; retryDelayMs?: number }
  | { httpStatus: number; message: string; retryAfterSeconds?: number }
  /** No answer at all (until the receiver stops): the client's timeout ends the call. */
  | { silence: true };

export type OtlpProtocol = 'grpc' | 'http/protobuf';

export interface OtlpReceiver {
  readonly protocol: OtlpProtocol;
  readonly port: number;
  /** The output's `collector_host`: `http://127.0.0.1:PORT`. */
  readonly collectorHost: string;
  /** Every request received, in order (those answered with an error too); none when not recording. */
  readonly requests: ReceivedRequest[];
  /** Requests received and bytes of their bodies (recording or not). */
  readonly received: { requests: number; bytes: number };
  /** The data points of the requests answered `accept` (less none: a partial success's points are all here). */
  accepted(): ReceivedPoint[];
  /** How the next requests are answered (default: accept everything). */
  answer: (request: ReceivedRequest, n: number) => Answer;
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

const require = createRequire(import.meta.url);
// The generated module has no types of its own: the two messages it is used for are typed here.
interface GeneratedMessage<T> {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: { longs: typeof String; defaults: boolean; arrays: boolean }): T;
  encode(object: unknown): { finish(): Uint8Array };
}
const generated = require('otlp-transformer-pbjs/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: GeneratedMessage<DecodedRequest>; ExportMetricsServiceResponse: GeneratedMessage<unknown> } } } } };
};
const { ExportMetricsServiceRequest, ExportMetricsServiceResponse } = generated.opentelemetry.proto.collector.metrics.v1;

export function decodeRequest(bytes: Uint8Array): DecodedRequest {
  return ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(bytes), { longs: String, defaults: true, arrays: true });
}

function stringPairs(kvs: DecodedKeyValue[]): Array<[string, string]> {
  return kvs.map((kv) => {
    if (typeof kv.value?.stringValue !== 'string' || Object.keys(kv.value).some((k) => k !== 'stringValue' && (kv.value as Record<string, unknown>)[k] != null)) {
      throw new Error(`attribute ${kv.key} is not a string: ${JSON.stringify(kv.value)}`);
    }
    return [kv.key, kv.value.stringValue];
  });
}

/** Every gauge data point of a decoded request (a metric of another kind throws: the output sends gauges only). */
export function pointsOf(body: DecodedRequest): ReceivedPoint[] {
  const out: ReceivedPoint[] = [];
  for (const rm of body.resourceMetrics) {
    const resource = stringPairs(rm.resource?.attributes ?? []);
    for (const sm of rm.scopeMetrics) {
      const scope = { name: sm.scope?.name ?? '', version: sm.scope?.version ?? '', attributes: stringPairs(sm.scope?.attributes ?? []) };
      for (const m of sm.metrics) {
        if (m.gauge == null) throw new Error(`metric ${m.name} is not a gauge: ${JSON.stringify(m)}`);
        for (const dp of m.gauge.dataPoints) {
          out.push({
            metric: m.name,
            unit: m.unit,
            description: m.description,
            time: BigInt(dp.timeUnixNano),
            startTime: BigInt(dp.startTimeUnixNano),
            value: dp.asDouble ?? undefined,
            attributes: stringPairs(dp.attributes),
            resource,
            scope,
          });
        }
      }
    }
  }
  return out;
}

/**
 * A serialized google.rpc.Status{code, message, details: [Any{RetryInfo{retry_delay}}]} (no details without
 * a delay), written field by field here, independently of the plugin's decoder: Status.code = 1 (varint),
 * message = 2 (LEN), details = 3 (LEN); Any.type_url = 1, value = 2; RetryInfo.retry_delay = 1;
 * Duration.seconds = 1, nanos = 2 (varints).
 */
export function rpcStatus(code: number, message: string, delayMs?: number): Buffer {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128);
    out.push(n);
    return out;
  };
  const field = (id: number, bytes: number[] | Buffer): number[] => [(id << 3) | 2, ...varint(bytes.length), ...bytes];
  const status = [0x08, ...varint(code), ...field(2, Buffer.from(message))];
  if (delayMs === undefined) return Buffer.from(status);
  const duration = [0x08, ...varint(Math.floor(delayMs / 1000)), 0x10, ...varint((delayMs % 1000) * 1e6)];
  const any = [...field(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), ...field(2, field(1, duration))];
  return Buffer.from([...status, ...field(3, any)]);
}

function responseBytes(answer: { rejectedDataPoints?: number; errorMessage?: string }): Buffer {
  const partial = answer.rejectedDataPoints !== undefined || answer.errorMessage !== undefined;
  const message = partial ? { partialSuccess: { rejectedDataPoints: answer.rejectedDataPoints ?? 0, errorMessage: answer.errorMessage ?? '' } } : {};
  return Buffer.from(ExportMetricsServiceResponse.encode(message).finish());
}

/**
 * Starts a receiver on a free loopback port; it is stopped after the test. With `record: false` (the bench) it
 * only counts the requests and accepts them, without decoding: a sink as cheap as the transport allows.
 */
export async function startOtlpReceiver(t: Pick<TestContext, 'after'>, protocol: OtlpProtocol, options: { record?: boolean } = {}): Promise<OtlpReceiver> {
  const record = options.record ?? true;
  const received = { requests: 0, bytes: 0 };
  const requests: ReceivedRequest[] = [];
  const acceptedPoints: ReceivedPoint[] = [];
  let stopCurrent: (() => Promise<void>) | undefined;
  let port = 0;

  const receiver: OtlpReceiver = {
    protocol,
    get port() {
      return port;
    },
    get collectorHost() {
      return `http://127.0.0.1:${port}`;
    },
    requests,
    received,
    accepted: () => acceptedPoints.slice(),
    answer: () => ({ accept: true }),
    async stop() {
      const stop = stopCurrent;
      stopCurrent = undefined;
      await stop?.();
    },
    async start() {
      const started = protocol === 'grpc' ? await listenGrpc(port, handle) : await listenHttp(port, handle);
      port = started.port;
      stopCurrent = started.stop;
    },
  };

  /** Records the request and says how to answer it. */
  function handle(headers: Record<string, string>, bytes: Uint8Array): Answer {
    received.requests++;
    received.bytes += bytes.length;
    if (!record) return { accept: true };
    const body = decodeRequest(bytes);
    const request = { headers, body, points: pointsOf(body) };
    requests.push(request);
    const answer = receiver.answer(request, requests.length);
    if ('accept' in answer) acceptedPoints.push(...request.points);
    return answer;
  }

  await receiver.start();
  t.after(() => receiver.stop());
  return receiver;
}

type Handler = (headers: Record<string, string>, body: Uint8Array) => Answer;

async function listenGrpc(port: number, handle: Handler): Promise<{ port: number; stop: () => Promise<void> }> {
  const server = new Server();
  const identity = (b: Buffer): Buffer => b;
  server.addService(
    { Export: { path: EXPORT_METHOD, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    {
      Export(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) {
        const headers = Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)]));
        let answer: Answer;
        try {
          answer = handle(headers, call.request);
        } catch (e) {
          callback({ code: status.INTERNAL, details: `test receiver: ${e instanceof Error ? e.message : String(e)}` });
          return;
        }
        if ('silence' in answer) return;
        if ('accept' in answer) callback(null, responseBytes(answer));
        else if ('grpcCode' in answer) {
          const metadata = new Metadata();
          if (answer.retryDelayMs !== undefined) metadata.set('grpc-status-details-bin', rpcStatus(answer.grpcCode, answer.message, answer.retryDelayMs));
          callback({ code: answer.grpcCode, details: answer.message, metadata });
        } else callback({ code: status.INTERNAL, details: 'test receiver: an HTTP answer on gRPC' });
      },
    },
  );
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  // Forced: calls still waiting for an answer (silence) are cancelled, as a collector that goes away does.
  return { port: bound, stop: async () => server.forceShutdown() };
}

async function listenHttp(port: number, handle: Handler): Promise<{ port: number; stop: () => Promise<void> }> {
  const server: HttpServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`test receiver: no ${req.method} ${req.url}`);
        return;
      }
      if (req.headers['content-type'] !== 'application/x-protobuf') {
        res.writeHead(415, { 'Content-Type': 'text/plain' }).end(`test receiver: content type ${req.headers['content-type']}`);
        return;
      }
      let answer: Answer;
      try {
        answer = handle(headerPairs(req.headers), Buffer.concat(chunks));
      } catch (e) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`test receiver: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      if ('silence' in answer) return;
      if ('accept' in answer) res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end(responseBytes(answer));
      else if ('httpStatus' in answer) {
        // As OTLP/HTTP answers an error: a protobuf google.rpc.Status holding the message.
        const headers: Record<string, string> = { 'Content-Type': 'application/x-protobuf' };
        if (answer.retryAfterSeconds !== undefined) headers['Retry-After'] = String(answer.retryAfterSeconds);
        res.writeHead(answer.httpStatus, headers).end(rpcStatus(status.UNKNOWN, answer.message));
      } else res.writeHead(500, { 'Content-Type': 'text/plain' }).end('test receiver: a gRPC answer on HTTP');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function headerPairs(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
}
