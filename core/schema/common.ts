import { string } from './schema.ts';

/** Schemas of values that several parts of the config share (listeners, routes, policies, backends). */

const HOSTNAME = /^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*)$/;
export const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const hostnameSchema = string({ pattern: HOSTNAME, patternHint: 'a host name, optionally starting with "*."' });
export const hostPortSchema = string({ pattern: HOST_PORT, patternHint: '"host:port"' });
export const headerNameSchema = string({ pattern: TOKEN, patternHint: 'an HTTP header name' });
