export { Gateway, type GatewayOptions, type ReloadResult } from './gateway.ts';
export { startPortcullis, type RunningGateway, type StartOptions } from './start.ts';
export { errorResponse } from './handler.ts';
export { addForwardedHeaders, stripHopByHop } from './headers.ts';
