export { HOST_BUILTINS, PURE_BUILTINS, SUPPORTED_BUILTINS } from './builtins.ts';
export { compileRego, DEFAULT_CACHE_DIR, type CompiledRego, type CompileOptions } from './compile.ts';
export { loadRegoData } from './data.ts';
export { loadRegoPolicy, RegoEvalError, type LoadOptions, type RegoDecision, type RegoPolicy } from './evaluate.ts';
export { analyzeInputRefs, collectInputRefs, mergeInputRefs, moduleInputRefs, WHOLE_INPUT, type InputRefs, type InputRefsOptions } from './input-refs.ts';
export { findOpa, INSTALL_HINT, OPA_VERSION, REPO_ROOT, TOOLS_FULL_OPA, TOOLS_OPA } from './opa.ts';
