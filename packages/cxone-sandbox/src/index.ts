// cxone-sandbox: a local SCIM 2.0 service provider that behaves like NICE CXone, for the demo,
// the tests and the benchmarks of cxone-scim-temporal (a test double, not part of the product).
//   const sandbox = await startSandbox({ port: 0 });
//   … sandbox.scimBaseUrl, sandbox.tokenUrl, sandbox.setSwitches({ failNext: 2 }) …
//   await sandbox.close();
export * from './sandbox';
export { registerSandboxCommand, parseRateLimit } from './command';
export type { RateLimit } from './switches';
export { SandboxClient, type ClientResponse, type RequestOptions } from './test-client';
export { userSchema, enterpriseUserSchema, niceUserExtension, cxoneUserSchema } from './schemas';
export { SIGNING_PRESETS, signWith, type SigningScheme, type SigningSetting } from './signing';
