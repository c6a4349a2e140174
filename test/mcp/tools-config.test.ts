import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigValidationError, validateConfig } from '../../core/config/index.ts';
import { Bm25Index, tokenize } from '../../core/backends/mcp/tools/index.ts';
import { compileNames } from '../../core/backends/mcp/tools/glob.ts';
import { Toolsets } from '../../core/backends/mcp/tools/toolsets.ts';
import { TargetToolRules } from '../../core/backends/mcp/tools/overrides.ts';
import { builtinPolicies } from '../../policies/index.ts';
import { builtinBackends } from '../../core/gateway/backends.ts';

function issues(mcp: unknown): string[] {
  try {
    validateConfig({ binds: [{ port: 1, listeners: [{ routes: [{ backends: [{ mcp }] }] }] }] }, builtinPolicies, builtinBackends);
  } catch (err) {
    assert.ok(err instanceof ConfigValidationError);
    assert.equal(err.code, 'PCL_ERR_CONFIG_INVALID');
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  return [];
}

const P = 'binds[0].listeners[0].routes[0].backends[0].mcp';
const target = (tools: unknown) => ({ name: 'gh', stdio: { cmd: 'x' }, tools });

describe('tool governance settings', () => {
  it('accepts every documented setting', () => {
    assert.deepEqual(
      issues({
        targets: [
          target({
            include: ['issues_*', 'pulls_?et'],
            exclude: ['*_delete*'],
            overrides: {
              issues_create: { name: 'new_issue', description: 'Opens an issue', annotations: { title: 'New issue', destructiveHint: false }, fixedArguments: { owner: 'acme', repo: 'web' }, defaultArguments: { labels: ['triage'] } },
            },
          }),
        ],
        toolsets: {
          readers: { tools: ['*_get*', 'issues_list'], grant: { claims: { role: 'reader', groups: ['eng', 'ops'] } } },
          admins: { tools: ['*'], grant: { roles: ['admin'], subjects: ['alice'] } },
          everyone: { tools: ['whoami'], grant: { everyone: true } },
        },
        toolSearch: { list: 'pinned', pinned: ['new_issue'], maxResults: 5 },
      }),
      [],
    );
  });

  it('refuses two tools renamed to one name, an exclude of everything, an empty include, with their paths', () => {
    assert.deepEqual(
      issues({
        targets: [target({ include: [], exclude: ['get_me', '**'], overrides: { a: { name: 'same' }, b: { name: 'same' }, c: { fixedArguments: { x: 1 }, defaultArguments: { x: 2 } } } })],
      }),
      [
        `${P}.targets[0].tools.overrides.c.defaultArguments.x: "x" is both fixed and defaulted: keep it in fixedArguments (the gateway sets it) or in defaultArguments (the client may set it)`,
        `${P}.targets[0].tools.include: includes no tool: remove include to show every tool, or name the tools to show`,
        `${P}.targets[0].tools.exclude[1]: "**" excludes every tool of the target: remove the target instead, or name the tools to hide`,
        `${P}.targets[0].tools.overrides.b.name: tools "a" and "b" are both renamed to "same": give them different names`,
      ],
    );
  });

  it('refuses bad shapes: unknown keys, bad names, grants to no one, a gateway tool name taken', () => {
    assert.deepEqual(
      issues({
        targets: [target({ overrides: { a: { name: 'has space', fixed: {} }, b: { name: 'search_tools' } } })],
        toolsets: { none: { tools: [], grant: {} }, both: { tools: ['x'], grant: { everyone: true, roles: ['a'] } }, bad: { tools: ['x'], grant: { claims: { role: { nested: 1 } } } } },
        toolSearch: { list: 'some', maxResults: 0 },
      }),
      [
        `${P}.targets[0].tools.overrides.a.fixed: unknown key (expected one of: name, description, annotations, fixedArguments, defaultArguments)`,
        `${P}.targets[0].tools.overrides.a.name: expected 1 to 128 letters, digits, "_", "-", "." or "/", got "has space"`,
        `${P}.toolsets.none.tools: expected at least 1 item(s), got 0`,
        `${P}.toolsets.none.grant: grants the toolset to no one: set subjects, roles, claims, or everyone: true`,
        `${P}.toolsets.both.grant.everyone: everyone: true grants the toolset to every caller: remove roles, or remove everyone`,
        `${P}.toolsets.bad.grant.claims.role: expected a string, number or boolean, got object`,
        `${P}.toolSearch.list: expected "all" | "pinned", got "some"`,
        `${P}.toolSearch.maxResults: must be >= 1, got 0`,
      ],
    );
    assert.deepEqual(issues({ targets: [target({ overrides: { b: { name: 'search_tools' } } })], toolSearch: {} }), [
      `${P}.targets[0].tools.overrides.b.name: "search_tools" is the gateway's own tool on a route with toolSearch: choose another name`,
    ]);
  });
});

describe('tool governance building blocks', () => {
  it('globs match whole names; * any run, ? one character, other characters literally', () => {
    const m = compileNames(['issues_*', 'get_?e', 'a.b', 'x+y']);
    assert.ok(m('issues_list') && m('issues_') && m('get_me') && m('a.b') && m('x+y'));
    assert.ok(!m('my_issues_list') && !m('get_mee') && !m('axb') && !m('xxy'));
    assert.ok(!compileNames([])('anything'));
  });

  it('tokenizes camelCase, snake_case, kebab-case, folds plurals and drops stop words', () => {
    assert.deepEqual(tokenize('listPullRequests for the repos_of-an ORGName'), ['list', 'pull', 'request', 'repository', 'organization', 'name']);
    assert.deepEqual(tokenize('repositories issues boxes class'), ['repository', 'issue', 'box', 'class']);
  });

  it('BM25 ranks the tool whose name and parameters match above those whose prose does', () => {
    const index = new Bm25Index([
      { name: 'issues_create', description: 'Create an issue', params: ['owner', 'repo', 'title'] },
      { name: 'pulls_create', description: 'Create a pull request; it may close an issue', params: ['owner', 'repo', 'head', 'base'] },
      { name: 'users_get', description: 'Get a user', params: ['username'] },
    ]);
    assert.deepEqual(index.rank('create issue').map((r) => r.doc), [0, 1]);
    assert.equal(index.rank('users_get')[0].doc, 2, 'a query naming a tool finds it first');
    assert.deepEqual(index.rank('zzz'), []);
  });

  it('toolsets: every key of a grant must hold, a claim list matches any value, anonymous callers get only everyone sets', () => {
    const sets = new Toolsets({
      readers: { tools: ['get_*'], grant: { claims: { 'org.team': ['search', 'docs'] } } },
      admins: { tools: ['*'], grant: { roles: ['admin'], subjects: ['alice'] } },
      all: { tools: ['whoami'], grant: { everyone: true } },
    });
    const id = (subject: string, roles: string[], claims: Record<string, unknown>) => ({ kind: 'jwt' as const, subject, roles, claims });
    const reader = sets.visible(id('bob', [], { org: { team: ['docs'] } }));
    assert.ok(reader('get_me') && reader('whoami') && !reader('delete_repo'));
    assert.ok(!sets.visible(id('bob', ['admin'], {}))('delete_repo'), 'role without the subject');
    assert.ok(sets.visible(id('alice', ['admin'], {}))('delete_repo'));
    const anon = sets.visible(undefined);
    assert.ok(anon('whoami') && !anon('get_me'));
    assert.deepEqual(sets.granted(id('alice', ['admin'], { org: { team: 'search' } })), ['readers', 'admins', 'all']);
  });

  it('target rules on a listed set: a glob that leaves nothing is a problem with its path, the tools stay bounded', () => {
    const rules = new TargetToolRules('t', { include: ['get_*'], exclude: ['get_*'] }, 'X.tools');
    const listed = [{ name: 'get_me', inputSchema: { type: 'object' } }, { name: 'list', inputSchema: { type: 'object' } }];
    const { shown, problems } = rules.apply(listed);
    assert.deepEqual(shown, []);
    assert.deepEqual(problems, [{ path: 'X.tools', message: 'include/exclude leave none of the 2 tools of target "t" (it lists "get_me", "list")' }]);
    assert.equal(rules.upstreamName('get_me'), undefined);
    // Reported once per load.
    assert.equal(rules.fresh(problems).length, 1);
    assert.equal(rules.fresh(rules.apply(listed).problems).length, 0);
  });

  it('target rules: fixed arguments win over the client, defaults fill only what is missing, the renamed-away name is gone', () => {
    const rules = new TargetToolRules('t', { overrides: { a: { name: 'b', fixedArguments: { x: 1 }, defaultArguments: { y: 2 } } } }, 'X.tools');
    const { shown } = rules.apply([{ name: 'a', inputSchema: { type: 'object', properties: { x: {}, y: {}, z: {} }, required: ['x', 'y', 'z'] } }]);
    assert.deepEqual(shown[0].item.inputSchema, { type: 'object', properties: { y: { default: 2 }, z: {} }, required: ['z'] });
    assert.deepEqual(rules.callArguments('a', { x: 9, z: 3 }), { x: 1, y: 2, z: 3 });
    assert.deepEqual(rules.callArguments('a', { y: 5 }), { x: 1, y: 5 });
    assert.equal(rules.upstreamName('b'), 'a');
    assert.equal(rules.upstreamName('a'), undefined);
  });
});
