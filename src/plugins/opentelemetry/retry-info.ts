// The retry delay a gRPC server asks for: the `google.rpc.RetryInfo` among the details of the
// `google.rpc.Status` it sends in the `grpc-status-details-bin` trailer (OTLP's throttling signal). Pure;
// worker thread.
//
// No package of ours ships these two googleapis messages, so their schema is given here through protobufjs's
// reflection API, as small as the parts read: Status.details (3) holds Any{type_url (1), value (2)}, and
// RetryInfo.retry_delay (1) is a Duration{seconds (1), nanos (2)}.

import protobuf from 'protobufjs';

const RPC = protobuf.Root.fromJSON({
  nested: {
    Status: { fields: { details: { rule: 'repeated', type: 'Any', id: 3 } } },
    Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
    RetryInfo: { fields: { retryDelay: { type: 'Duration', id: 1 } } },
    Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
  },
});
const Status = RPC.lookupType('Status');
const RetryInfo = RPC.lookupType('RetryInfo');

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

interface DecodedStatus {
  details: Array<{ typeUrl: string; value: Uint8Array }>;
}
interface DecodedRetryInfo {
  retryDelay?: { seconds: number; nanos: number };
}

/** The delay in ms of the RetryInfo in a serialized google.rpc.Status, or undefined when it has none (or is unreadable). */
export function retryDelayMs(statusDetails: Uint8Array): number | undefined {
  try {
    const status = Status.toObject(Status.decode(statusDetails), { defaults: true }) as DecodedStatus;
    const info = status.details.find((d) => d.typeUrl === RETRY_INFO_TYPE);
    if (info === undefined) return undefined;
    const delay = (RetryInfo.toObject(RetryInfo.decode(info.value), { longs: Number, defaults: true }) as DecodedRetryInfo).retryDelay;
    if (delay === undefined) return 0;
    return Math.max(0, delay.seconds * 1000 + delay.nanos / 1e6);
  } catch {
    return undefined;
  }
}
