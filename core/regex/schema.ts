import * as s from '../schema/index.ts';
import { compileLinear, UnsupportedPattern } from './index.ts';

/**
 * A config string that must be a regular expression the linear engine runs: invalid syntax and features that need
 * backtracking (backreferences, long lookarounds, inline modifiers) are errors at load, with their path.
 */
export function linearRegexSchema(): s.Schema {
  return {
    describe: 'string',
    check(value, path, issues) {
      if (typeof value !== 'string') return s.string().check(value, path, issues);
      try {
        compileLinear(value);
      } catch (err) {
        if (!(err instanceof UnsupportedPattern)) throw err;
        issues.push({ path, message: err.message });
      }
    },
    jsonSchema: () => ({ type: 'string', format: 'regex', description: 'a regular expression the linear-time engine runs (no backreferences)' }),
  };
}
