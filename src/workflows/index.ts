// Every workflow the worker registers. Workflow code is deterministic: no I/O here, only
// orchestration of activities, timers, signals and queries.
export { discoverServiceProvider } from './discover-service-provider';
export {
  configureServiceProvider,
  type ConfigureServiceProviderInput,
  type ConfigureServiceProviderResult,
} from './configure-service-provider';
