// The prometheus-exporter output element (worker thread): keeps the last value of every series (exposition.ts)
// and serves it over HTTP from this worker. `create` binds the port, so a port in use fails the agent's
// start-up before any other output opens a file; `write` only updates the state; a scrape renders it.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { defineOutput, parseDuration, type Batch, type ElementContext, type Output } from '../../protocol/element-api.js';
import type { ExporterConfig } from './config.js';
import { acceptsGzip, CONTENT_TYPES, negotiate, SeriesStore } from './exposition.js';

/** `[::1]` → `::1`: Node listens on the bare address; the Rust plugin wants IPv6 in brackets. */
export function listenHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `host:port` as users write it, IPv6 in brackets. */
export function displayAddress(host: string, port: number): string {
  const bare = listenHost(host);
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
}

/**
 * Servers of this worker by address: an instance that replaces a failed one (same worker) closes its
 * predecessor's server first, so the restart does not find its own port in use.
 */
const servers = new Map<string, Server>();

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export class PrometheusExporter implements Output {
  readonly #store: SeriesStore;
  readonly #path: string;
  readonly #ctx: ElementContext;
  readonly #address: string;
  #server: Server | undefined;

  constructor(config: ExporterConfig, ctx: ElementContext) {
    this.#ctx = ctx;
    this.#path = config.path;
    this.#address = displayAddress(config.host, config.port);
    this.#store = new SeriesStore(ctx.metrics, {
      prefix: config.prefix,
      suffix: config.suffix,
      addAttributesToLabels: config.add_attributes_to_labels,
      ttlMs: Number(parseDuration(config.series_ttl) / 1_000_000n),
    });
  }

  /** Binds the port; rejects with an error naming the address when it cannot. */
  async listen(host: string, port: number): Promise<void> {
    const previous = servers.get(this.#address);
    if (previous !== undefined) {
      servers.delete(this.#address);
      await closeServer(previous);
    }
    const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => this.#serve(req, res));
    // A request that expects `100 Continue` gets its final answer at once, which HTTP allows: no answer here
    // reads a body (and Node closes the connection when a body may follow). Node's default interim answer
    // lands inside the bytes of an earlier answer still queued on a connection that pipelines requests.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.#serve(req, res));
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const why =
          e.code === 'EADDRINUSE'
            ? 'the address is already in use (another exporter or agent?); choose another port'
            : e.code === 'EACCES'
              ? 'permission denied (ports below 1024 need privileges)'
              : e.code === 'EADDRNOTAVAIL'
                ? 'no interface of this machine has that address'
                : e.message;
        reject(new Error(`cannot listen on ${this.#address}: ${why} (plugins.prometheus-exporter.host and port)`, { cause: e }));
      };
      server.once('error', onError);
      server.listen({ host: listenHost(host), port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (e) => this.#ctx.log.error({ err: e }, `${this.#ctx.name}: HTTP server error`));
    this.#server = server;
    servers.set(this.#address, server);
    this.#ctx.log.info(`${this.#ctx.name}: serving ${this.#path} on http://${this.#address}`);
  }

  write(batch: Batch): void {
    this.#store.ingest(batch);
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    if (servers.get(this.#address) === server) servers.delete(this.#address);
    await closeServer(server);
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== this.#path) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not Found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' }).end('Method Not Allowed');
      return;
    }
    const format = negotiate(req.headers.accept);
    let body: Buffer = this.#store.renderBytes(format);
    const headers: Record<string, string> = { 'Content-Type': CONTENT_TYPES[format], Vary: 'Accept, Accept-Encoding' };
    if (acceptsGzip(req.headers['accept-encoding'])) {
      body = gzipSync(body, { level: 1 });
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

export default defineOutput<ExporterConfig>(async (config, ctx) => {
  const exporter = new PrometheusExporter(config, ctx);
  await exporter.listen(config.host, config.port);
  return exporter;
});
