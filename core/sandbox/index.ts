export { Sandbox, SandboxError, sandboxHosts, type HostLogger, type SandboxFailureKind, type SandboxLimits, type SandboxLog, type SandboxOptions, type SandboxResult } from './sandbox.ts';
export { LOG_LIMITS } from './prelude.ts';
