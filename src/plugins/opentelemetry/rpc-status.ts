// What an OTLP server says in a `google.rpc.Status` when it does not take a request: its message (the body of
// an OTLP/HTTP error answer) and the retry delay it asks for (a `google.rpc.RetryInfo` among its details, in
// the `grpc-status-details-bin` trailer of an OTLP/gRPC error: OTLP's throttling signal). Pure; worker thread.
//
// No package of ours ships these googleapis messages, so their schema is given here through protobufjs's
// reflection API, as small as the parts read: Status{message (2), details (3): Any{type_url (1), value (2)}},
// RetryInfo{retry_delay (1): Duration{seconds (1), nanos (2)}}.

import protobuf from 'protobufjs';

const RPC = protobuf.Root.fromJSON({
  nested: {
    Status: { fields: { message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'Any', id: 3 } } },
    Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
    RetryInfo: { fields: { retryDelay: { type: 'Duration', id: 1 } } },
    Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
  },
});
const Status = RPC.lookupType('Status');
const RetryInfo = RPC.lookupType('RetryInfo');

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

interface DecodedStatus {
  message: string;
  details: Array<{ typeUrl: string; value: Uint8Array }>;
}
interface DecodedRetryInfo {
  retryDelay?: { seconds: number; nanos: number };
}

function decodeStatus(bytes: Uint8Array): DecodedStatus | undefined {
  try {
    return Status.toObject(Status.decode(bytes), { defaults: true }) as DecodedStatus;
  } catch {
    return undefined;
  }
}

/** The delay in ms of the RetryInfo in a serialized google.rpc.Status, or undefined when it has none (or is unreadable). */
export function retryDelayMs(statusBytes: Uint8Array): number | undefined {
  const info = decodeStatus(statusBytes)?.details.find((d) => d.typeUrl === RETRY_INFO_TYPE);
  if (info === undefined) return undefined;
  try {
    const delay = (RetryInfo.toObject(RetryInfo.decode(info.value), { longs: Number, defaults: true }) as DecodedRetryInfo).retryDelay;
    return delay === undefined ? 0 : Math.max(0, delay.seconds * 1000 + delay.nanos / 1e6);
  } catch {
    return undefined;
  }
}

/**
 * The text of an OTLP/HTTP error answer: the message of its google.rpc.Status when it is protobuf (as the
 * specification asks), else the body as text.
 */
export function errorMessage(body: Uint8Array, contentType: string | null): string {
  const text = (): string => Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (!(contentType ?? '').startsWith('application/x-protobuf')) return text();
  return decodeStatus(body)?.message ?? text();
}
