// A claim check as workflow history carries it: where an activity stored an object for later
// activities of the run (a chunk's normalized users, a plan), and the SHA-256 that object must
// have. Only this reference travels through history, never the object (activities/claim-store.ts).

export interface ClaimRef {
  /** s3://bucket/key or an absolute path. */
  location: string;
  sha256: string;
  bytes: number;
}
