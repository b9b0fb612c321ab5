import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Keyword search attributes every workflow sets, so that `cxone-scim report` and the Temporal UI
// can find runs by tenant, operation and outcome. Safe to import from workflow code.
export const SCIM_TENANT = defineSearchAttributeKey('ScimTenant', SearchAttributeType.KEYWORD);
export const SCIM_OPERATION = defineSearchAttributeKey('ScimOperation', SearchAttributeType.KEYWORD);
export const SCIM_OUTCOME = defineSearchAttributeKey('ScimOutcome', SearchAttributeType.KEYWORD);

export const SCIM_SEARCH_ATTRIBUTES = [SCIM_TENANT, SCIM_OPERATION, SCIM_OUTCOME];
