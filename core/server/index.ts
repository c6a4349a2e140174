export { Gateway, type GatewayOptions, type ReloadResult } from './gateway.ts';
export { startPortcullis, type RunningGateway, type StartOptions } from './start.ts';
export { errorResponse, type IncomingRequest, type RequestHead } from './exchange.ts';
export { buildRuntime, type Runtime } from './runtime.ts';
export { type HandleOptions } from './web.ts';
export { addForwardedHeaders, stripHopByHop } from '../pipeline/index.ts';
