// The relay client's connection to its server (worker thread of the relay-client output): connect, Greet,
// and wait for a GreetResponse that accepts, all within the handshake timeout; then messages are written
// one after the other. Any failure is an error that says what the server did (the caller names the
// server). When the server ends its side (it is shutting down), the link ends its own and is no longer
// used: everything written before reaches the server, which reads until our end, and the next write opens
// a new link.

import { connect, type Socket } from 'node:net';
import type { Log } from '../../protocol/element-api.js';
import { DecodeError } from '../shared/postcard.js';
import { FrameReader } from '../shared/relay-frames.js';
import { ALUMET_CORE_VERSION, PROTOCOL_VERSION, RELAY_PLUGIN_VERSION, Variant, encodeGreet, readGreetResponse, readMessageStart, variantName } from '../shared/relay-messages.js';
import { formatSocketAddress, type SocketAddress } from '../shared/socket-address.js';

/** A connection or handshake that failed: the message says what the server did. */
export class LinkError extends Error {
  override readonly name = 'LinkError';
}

export class ServerLink {
  readonly #socket: Socket;
  #failure: string | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    // After the handshake the server has nothing to say; what it sends anyway is read and ignored.
    socket.on('data', () => undefined);
    socket.on('end', () => {
      this.#failure ??= 'closed the connection';
      socket.end();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (this.#failure ??= describe(e)));
    socket.on('close', () => (this.#failure ??= 'closed the connection'));
  }

  /** Connects, greets as `clientName`, and resolves once the server has accepted; rejects with a LinkError. */
  static open(address: SocketAddress, clientName: string, timeoutMs: number, log: Log): Promise<ServerLink> {
    const server = formatSocketAddress(address);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address.host, port: address.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 10_000 });
      const frames = new FrameReader();
      let connected = false;
      const fail = (message: string): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new LinkError(message));
      };
      const timer = setTimeout(
        () => fail(connected ? `did not answer the Greet within ${timeoutMs} ms` : `could not connect within ${timeoutMs} ms`),
        timeoutMs,
      );
      socket.once('connect', () => {
        connected = true;
        socket.write(encodeGreet(clientName, { alumetCoreVersion: ALUMET_CORE_VERSION, relayPluginVersion: RELAY_PLUGIN_VERSION, protocolVersion: PROTOCOL_VERSION }));
      });
      socket.on('error', (e: NodeJS.ErrnoException) => fail(describe(e)));
      socket.on('close', () => fail(`closed the connection without answering the Greet (a Rust relay server does so when it speaks another protocol version than ${PROTOCOL_VERSION})`));
      socket.on('data', (chunk: Buffer) => {
        frames.push(chunk);
        let body: Buffer | undefined;
        try {
          body = frames.next();
          if (body === undefined) return;
          const { variant, reader } = readMessageStart(body);
          if (variant !== Variant.GreetResponse) return fail(`answered the Greet with a ${variantName(variant)} message, not a GreetResponse`);
          const answer = readGreetResponse(reader);
          if (!answer.accept) {
            return fail(
              `refused the handshake: it speaks relay protocol version ${answer.protocolVersion} (alumet ${answer.serverAlumetCoreVersion}, relay plugin ${answer.serverRelayPluginVersion}), this client speaks ${PROTOCOL_VERSION}`,
            );
          }
          clearTimeout(timer);
          socket.removeAllListeners();
          log.debug(`connected to ${server} (alumet ${answer.serverAlumetCoreVersion}, relay plugin ${answer.serverRelayPluginVersion})`);
          resolve(new ServerLink(socket));
        } catch (e) {
          fail(`answered the Greet with something that is not a relay message: ${e instanceof DecodeError ? e.message : String(e)}`);
        }
      });
    });
  }

  /** Why the link can no longer be used, or undefined while it can. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Writes a framed message; resolves once the system has taken it, rejects with a LinkError if the link broke. */
  write(message: Uint8Array): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(new LinkError(this.#failure));
    return new Promise((resolve, reject) => {
      this.#socket.write(message, (e) => {
        if (e === undefined || e === null) resolve();
        else reject(new LinkError(this.#failure ?? describe(e as NodeJS.ErrnoException)));
      });
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** `ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:50051)`. */
function describe(e: NodeJS.ErrnoException): string {
  return e.code !== undefined ? `${e.code} (${e.message})` : e.message;
}
