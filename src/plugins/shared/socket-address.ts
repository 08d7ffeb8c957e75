// Socket addresses as the relay's config and command line write them: `HOST:PORT`, or `[IPv6]:PORT`
// (`[::1]:50051`); the host may be a name, resolved when connecting or listening. Any thread.

import { isIPv6 } from 'node:net';

export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

const EXAMPLES = 'write HOST:PORT or [IPv6]:PORT, e.g. "127.0.0.1:50051" or "[::1]:50051"';

/** The address, or what is wrong with it. `minPort` is 0 for a listener (any free port), 1 to connect. */
export function parseSocketAddress(text: string, minPort: 0 | 1): SocketAddress | string {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  let host: string;
  let portText: string;
  if (bracketed !== null) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
    if (!isIPv6(host)) return `${JSON.stringify(host)} in brackets is not an IPv6 address; ${EXAMPLES}`;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return `no port; ${EXAMPLES}`;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return `an IPv6 address needs brackets; ${EXAMPLES}`;
  }
  if (host === '') return `no host; ${EXAMPLES}`;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= minPort && port <= 65535)) return `the port ${JSON.stringify(portText)} is not a number from ${minPort} to 65535; ${EXAMPLES}`;
  return { host, port };
}

/** `[::1]:50051`, `127.0.0.1:50051`: an address as messages show it. */
export function formatSocketAddress(a: SocketAddress): string {
  return isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
