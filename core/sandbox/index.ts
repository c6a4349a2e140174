export { Sandbox, SandboxError, type SandboxFailureKind, type SandboxLimits, type SandboxLog, type SandboxOptions, type SandboxResult } from './sandbox.ts';
