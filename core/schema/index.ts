// The schema kit: a leaf every folder may import (it imports nothing of ours), so that a backend's or a policy's
// schema does not pull in the config loader.
export {
  array,
  boolean,
  formatIssues,
  isPlainObject,
  ISSUE_STAGES,
  join,
  lazy,
  literal,
  number,
  object,
  oneOf,
  record,
  regex,
  string,
  typeName,
  type Issue,
  type IssueStage,
  type ObjectOptions,
  type Schema,
} from './schema.ts';
export { HOST_PORT, headerNameSchema, hostnameSchema, hostPortSchema } from './common.ts';
