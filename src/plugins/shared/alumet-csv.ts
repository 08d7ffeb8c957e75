// The fixed columns of Alumet's CSV format, shared by the csv output that writes it and `alumet-agent plot`
// that reads it back (ours or the Rust agent's file: the layout is the same).

export const FIXED_COLUMNS = ['metric', 'timestamp', 'value', 'resource_kind', 'resource_id', 'consumer_kind', 'consumer_id'] as const;
export const LATE_COLUMN = '__late_attributes';
