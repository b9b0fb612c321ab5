// The records activities hand each other: one record of a chunk as written, and a record that failed.
// Apart from the planner (provisioning.ts) so that the provider writers can use them without it.
import type { AttributeWrites } from '../scim/patch';

/** One record of a chunk, rebuilt from the source. */
export interface Entry {
  index: number;
  userName: string;
  bulkId: string;
  user: Record<string, unknown>;
  /** The mapping's create-only attributes and flow-null clears: what an update of an existing user leaves out or removes. */
  writes?: AttributeWrites;
  /** The mapping's matchOn pairs with this record's values, [provider attribute, value]: tried in turn to find its existing user. */
  match?: Array<[string, string]>;
}

/** A record the provider refused or that could not be written, with the provider's answer. */
export interface RecordFailure {
  record: number;
  userName?: string;
  status?: number;
  scimType?: string;
  detail: string;
}
