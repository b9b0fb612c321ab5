// Every workflow the worker registers. Workflow code is deterministic: no I/O here, only
// orchestration of activities, timers, signals and queries.
export { discoverServiceProvider } from './discover-service-provider';
export { configureServiceProvider } from './configure-service-provider';
