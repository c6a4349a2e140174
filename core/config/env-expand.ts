import { homedir } from 'node:os';
import type { Issue } from '../schema/index.ts';

/**
 * agentgateway's environment expansion of a config file, rule for rule: it runs `shellexpand::full` (3.1) on the
 * whole text before parsing (crates/agentgateway/src/config.rs `parse_config`, types/local.rs), so Portcullis does
 * the same for agentgateway-format YAML/JSON files. The rule:
 * - `${NAME}` is the variable's value (empty when set to empty); `${NAME:-default}` falls back to `default` when
 *   NAME is unset. `${` with no `}` anywhere after it is left as is. The name is everything up to the first `}`.
 * - `$NAME` (NAME a run of letters, digits and `_`) is the variable's value.
 * - An unset variable with no default is an error (agentgateway: "error looking key 'NAME' up").
 * - `$$` is a literal `$`; a `$` followed by anything else (`^/api$`, `$.x`, `$ `, `$"`) is left as is.
 * - It applies everywhere in the text: values, keys and comments alike. The editor hint
 *   `# yaml-language-server: $schema` is blanked first, as agentgateway does, so that `$schema` is not looked up.
 * - A text starting with `~/` (or exactly `~`) gets the home directory (shellexpand's tilde step).
 * Values are never logged: an issue names the variable and where it is, never what it holds.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv = process.env): { text: string; issues: Issue[] } {
  const input = text.replaceAll('# yaml-language-server: $schema', '#');
  const issues: Issue[] = [];
  const unset = (name: string, at: number) =>
    issues.push({ path: where(input, at), message: `environment variable ${name} is not set (export it, or write \${${name}:-default}; $$ is a literal $)` });
  let out = '';
  let i = 0;
  // Each step consumes at least one character, so the loop ends.
  while (i < input.length) {
    const dollar = input.indexOf('$', i);
    if (dollar < 0) {
      out += input.slice(i);
      break;
    }
    out += input.slice(i, dollar);
    const next = input[dollar + 1];
    if (next === '{') {
      const close = input.indexOf('}', dollar);
      if (close < 0) {
        out += '${';
        i = dollar + 2;
        continue;
      }
      const body = input.slice(dollar + 2, close);
      const split = body.indexOf(':-');
      // `${:-x}` has no name: the whole body is then the name (and is unset), as in shellexpand.
      const name = split > 0 ? body.slice(0, split) : body;
      const fallback = split > 0 ? body.slice(split + 2) : undefined;
      const value = lookup(env, name);
      if (value !== undefined) out += value;
      else if (fallback !== undefined) out += fallback;
      else unset(name, dollar);
      i = close + 1;
    } else if (next !== undefined && NAME_CHAR.test(next)) {
      let end = dollar + 1;
      // Code points, not UTF-16 units: a name may hold letters outside the BMP, as Rust's chars do.
      for (const ch of input.slice(dollar + 1)) {
        if (!NAME_CHAR.test(ch)) break;
        end += ch.length;
      }
      const name = input.slice(dollar + 1, end);
      const value = lookup(env, name);
      if (value !== undefined) out += value;
      else unset(name, dollar);
      i = end;
    } else {
      out += '$';
      i = dollar + (next === '$' ? 2 : 1);
    }
  }
  // shellexpand's tilde step: only at the very start, and only if a variable did not put the `~` there.
  if (input.startsWith('~') && (input.length === 1 || input[1] === '/') && out.startsWith('~')) out = homedir() + out.slice(1);
  return { text: out, issues };
}

// Rust's char::is_alphanumeric (Alphabetic or Numeric) or `_`.
const NAME_CHAR = /^[\p{Alphabetic}\p{N}_]$/u;

// std::env::var: a name with `=` or NUL cannot be set, so it is unset.
function lookup(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (name === '' || name.includes('=') || name.includes('\0')) return undefined;
  return Object.hasOwn(env, name) ? env[name] : undefined;
}

function where(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    start = nl + 1;
  }
  return `line ${line}, column ${offset - start + 1}`;
}
