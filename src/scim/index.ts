// The SCIM 2.0 domain model: pure codecs, safe to import from Temporal workflows (no I/O, no
// Node built-ins, no clocks or randomness).
export * from './urns';
export * from './primitives';
export * from './codecs';
export * from './decode';
