import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileCel, createCelEnvironment, toCelValue } from '../../core/cel/index.ts';
import { AGENTGATEWAY_CEL_FUNCTIONS } from '../../core/cel/agentgateway-functions.ts';
import { compileRuleSet, ruleSetAllows } from '../../policies/authorization/cel.ts';
import { send, simpleConfig, startTestGateway } from '../helpers/gateway.ts';

const env = createCelEnvironment(['request', 'source', 'jwt']);
const activation = toCelValue({
  source: { address: '127.0.0.1' },
  request: { headers: { 'x-chaos': '1' }, body: '{"model":"m","n":[1,2]}' },
  jwt: { sub: 'alice', iss: 'idp', nested: { level: 2 } },
}) as Record<string, unknown>;

const run = (expr: string, vars: Record<string, unknown> = activation) => compileCel(env, expr, ['bool', 'int', 'uint', 'double', 'string', 'bytes', 'list', 'map', 'null', 'net.IP', 'net.CIDR']).evaluate(vars);

/** A bad argument is a CEL evaluation error with a message naming the function and the value (never a crash). */
function fails(expr: string, message: string): void {
  assert.throws(() => run(expr), (err: Error) => err.name === 'EvaluationError' && err.message.split('\n')[0] === message, expr);
}

describe("agentgateway's CEL functions", () => {
  it('cidr / ip: containsIP with a string or an ip, IPv6, masked ranges, address classes', () => {
    assert.equal(run('cidr("127.0.0.1/8").containsIP(source.address)'), true);
    assert.equal(run('cidr("127.0.0.1/8").containsIP("128.0.0.1")'), false);
    assert.equal(run('cidr("10.0.0.0/8").containsIP(ip("10.200.0.1"))'), true);
    assert.equal(run('cidr("10.0.0.0/8").containsIP("::1")'), false);
    // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d: that is the IPv4 address.
    assert.equal(run('cidr("127.0.0.0/8").containsIP("::ffff:127.0.0.1")'), true);
    assert.equal(run('cidr("2001:db8::/32").containsIP("2001:db8:ffff::1")'), true);
    assert.equal(run('cidr("2001:db8::/32").containsIP("2001:db9::1")'), false);
    assert.equal(run('cidr("10.0.0.0/8").containsCIDR("10.1.0.0/16")'), true);
    assert.equal(run('cidr("10.1.0.0/16").containsCIDR(cidr("10.0.0.0/8"))'), false);
    assert.equal(run('string(cidr("10.1.2.3/8").masked())'), '10.0.0.0/8');
    assert.equal(run('string(cidr("10.1.2.3/8").ip())'), '10.1.2.3');
    assert.equal(run('cidr("fe80::1/64").prefixLength()'), 64n);
    assert.equal(run('string(ip("2001:0db8:0:0:0:0:0:1"))'), '2001:db8::1');
    assert.equal(run('ip("::1").isLoopback() && ip("127.9.9.9").isLoopback() && !ip("8.8.8.8").isLoopback()'), true);
    assert.equal(run('ip("fe80::1").family() == 6 && ip("1.2.3.4").family() == 4'), true);
    assert.equal(run('ip("169.254.1.1").isLinkLocalUnicast() && ip("fe80::9").isLinkLocalUnicast()'), true);
    assert.equal(run('ip("224.0.0.9").isLinkLocalMulticast() && ip("ff02::1").isLinkLocalMulticast()'), true);
    assert.equal(run('ip("0.0.0.0").isUnspecified() && ip("::").isUnspecified()'), true);
    assert.equal(run('ip("8.8.8.8").isGlobalUnicast() && !ip("255.255.255.255").isGlobalUnicast() && !ip("127.0.0.1").isGlobalUnicast()'), true);
    assert.equal(run('isIP("1.2.3.4") && isIP("::1") && !isIP("1.2.3") && !isIP("01.2.3.4") && !isIP("fe80::1%eth0")'), true);
  });

  it('cidr / ip: a malformed address or range is an evaluation error that says what was wrong', () => {
    fails('cidr("bad").containsIP("1.2.3.4")', 'cidr: "bad" is not a CIDR range (address/prefix-length, e.g. "10.0.0.0/8")');
    fails('cidr("10.0.0.0/33").prefixLength() == 1', 'cidr: "10.0.0.0/33" is not a CIDR range (address/prefix-length, e.g. "10.0.0.0/8")');
    fails('cidr("10.0.0.0").prefixLength() == 1', 'cidr: "10.0.0.0" is not a CIDR range (address/prefix-length, e.g. "10.0.0.0/8")');
    fails('cidr("127.0.0.1/8").containsIP("nope")', 'containsIP: "nope" is not an IP address');
    fails('ip("300.1.1.1").family() == 4', 'ip: "300.1.1.1" is not an IP address');
  });

  it('json, jsonField, toJson, unvalidatedJwtPayload', () => {
    assert.equal(run('json(request.body).model'), 'm');
    assert.deepEqual(run('json(request.body).n'), [1n, 2n]);
    assert.equal(run('json(b"{\\"a\\": 1.5}").a'), 1.5);
    assert.deepEqual(run('jsonField(request.body, "n")'), [1n, 2n]);
    assert.equal(run('toJson({"a": 1, "b": [b"x", true, null], "c": ip("::1")})'), '{"a":1,"b":["eA==",true,null],"c":"::1"}');
    assert.equal(run('to_json(jwt.nested)'), '{"level":2}');
    const token = `x.${Buffer.from('{"sub":"bob","n":3}').toString('base64url')}.sig`;
    assert.equal(run(`unvalidatedJwtPayload("${token}").sub`), 'bob');
    fails('json("{").a == 1', `json: not valid JSON (Expected property name or '}' in JSON at position 1 (line 1 column 2))`);
    fails('jsonField("[1]", "a") == 1', 'jsonField: the JSON is not an object');
    fails('jsonField(request.body, "missing") == 1', 'No such key: missing');
    fails('unvalidatedJwtPayload("a.b") == {}', 'unvalidatedJwtPayload: invalid JWT: expected 3 segments, got 2');
    fails('unvalidatedJwtPayload("a.!!.c") == {}', 'unvalidatedJwtPayload: invalid JWT: the payload is not base64url');
    fails(`toJson(1.0 / 0.0) == ""`, 'toJson: Infinity has no JSON form');
  });

  it('with, mapValues, filterKeys, merge, default, coalesce', () => {
    assert.equal(run('jwt.with(j, j.sub + "@" + j.iss)'), 'alice@idp');
    assert.equal(run('jwt.nested.level.with(l, l * l + l)'), 6n);
    assert.deepEqual(run('{"a": 1, "b": 2}.mapValues(v, v * 10)'), new Map([['a', 10n], ['b', 20n]]));
    assert.deepEqual(run('jwt.filterKeys(k, k != "nested")'), new Map([['sub', 'alice'], ['iss', 'idp']]));
    assert.deepEqual(run('{"a": 1}.merge({"b": 2, "a": 3})'), new Map([['a', 3n], ['b', 2n]]));
    assert.equal(run('default(jwt.missing, "anon")'), 'anon');
    assert.equal(run('default(jwt.sub, "anon")'), 'alice');
    assert.equal(run('default(jwt.sub, "anon")', { ...activation, jwt: undefined }), 'anon');
    assert.equal(run('coalesce(jwt.missing, null, jwt.sub, "z")'), 'alice');
    assert.equal(run('coalesce(jwt.missing, null)'), null);
    fails('{"a": 1}.filterKeys(k, 1) == {}', 'filterKeys: the predicate must return bool, got int');
    // default absorbs a missing key only: other errors still fail.
    fails('default(fail("x"), 1) == 1', 'fail() called: x');
    assert.throws(() => env.parse('jwt.with(1, 2)'), /with\(var, expression\): the first argument must be a variable name/);
  });

  it('random, uuid, regexReplace, fail', () => {
    const r = run('random()') as number;
    assert.ok(r >= 0 && r < 1);
    assert.match(run('uuid()') as string, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(run('uuid()'), run('uuid()'));
    // The first match is replaced (as agentgateway's Regex::replace), with capture groups.
    assert.equal(run('"hello world".regexReplace("(o)", "[$1]")'), 'hell[o] world');
    fails('"a".regexReplace("(", "") == ""', 'regexReplace: "(" is not a valid regex (Invalid regular expression: /(/u: Unterminated group)');
    fails('fail("no tenant") == 1', 'fail() called: no tenant');
  });

  it('base64, url, form and hash encodings', () => {
    assert.equal(run('base64Encode("hi") == "aGk=" && base64.encode(b"hi") == "aGk="'), true);
    assert.deepEqual(run('base64Decode("aGk")'), new Uint8Array([104, 105]));
    assert.equal(run('string(base64.decode("aGk="))'), 'hi');
    fails('base64.decode("!!") == b""', 'base64.decode: "!!" is not base64');
    assert.equal(run('url.encode("a b&c/d!")'), 'a%20b%26c%2Fd%21');
    assert.equal(run('url.decode("a%20b")'), 'a b');
    fails('url.decode("%zz") == ""', 'url.decode: "%zz" is not valid percent-encoded UTF-8');
    assert.deepEqual(run('form.decode("a=1&a=2&b=x+y")'), { a: ['1', '2'], b: 'x y' });
    assert.equal(run('form.encode({"b": "2", "a": ["1", "x y"], "c": null})'), 'a=1&a=x+y&b=2');
    fails('form.encode({"a": 1}) == ""', 'form.encode: the value of "a" must be a string or a list of strings, got int');
    assert.equal(run('sha256.encode("abc")'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(run('sha1.encode("abc")'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    assert.equal(run('md5.encode(b"abc")'), '900150983cd24fb0d6963f7d28e17f72');
  });

  it("cel-go's strings and math extensions (the parts cel-js lacks) and flatten", () => {
    assert.equal(run('"héllo".charAt(1) + "abc".charAt(3)'), 'é');
    fails('"abc".charAt(4) == ""', 'charAt: index 4 out of range (length 3)');
    assert.equal(run('"a.b.c".replace(".", "/")'), 'a/b/c');
    assert.equal(run('"aaa".replace("a", "b", 2)'), 'bba');
    assert.equal(run('"Bearer x".stripPrefix("Bearer ") + "x.json".stripSuffix(".json")'), 'xx');
    assert.deepEqual(run('[[1], [2, [3]]].flatten()'), [1n, 2n, [3n]]);
    assert.deepEqual(run('[[1], [2, [3]]].flattenRecursive()'), [1n, 2n, 3n]);
    fails('[1].flatten(-1) == []', 'flatten: depth must not be negative, got -1');
    assert.equal(run('math.least(3, 1, 2)'), 1n);
    assert.equal(run('math.greatest([3.5, 1.0])'), 3.5);
    fails('math.least([]) == 0', 'math.least: needs at least one value');
    fails('math.least("a", 1) == 0', 'math.least: expected a number, got string');
    assert.equal(run('math.ceil(1.2) == 2.0 && math.floor(1.8) == 1.0 && math.round(-2.5) == -3.0 && math.trunc(-1.7) == -1.0'), true);
    assert.equal(run('math.abs(-3) == 3 && math.sign(-2.0) == -1.0 && math.sqrt(16) == 4.0'), true);
    assert.equal(run('math.isNaN(0.0 / 0.0) && math.isInf(1.0 / 0.0) && math.isFinite(1.0)'), true);
    assert.equal(run('math.bitAnd(6, 3) == 2 && math.bitOr(6, 3) == 7 && math.bitXor(6, 3) == 5 && math.bitNot(0) == -1'), true);
    assert.equal(run('math.bitShiftLeft(1, 4) == 16 && math.bitShiftRight(-1, 60) == 15'), true);
    fails('math.bitShiftLeft(1, -1) == 0', 'math.bitShiftLeft: negative shift -1');
  });

  it('every function in the documented list is registered', () => {
    const defs = env.getDefinitions() as { functions: { name: string; signature?: string; receiverType?: string }[] };
    const names = new Set(defs.functions.map((d) => d.name));
    for (const name of AGENTGATEWAY_CEL_FUNCTIONS) assert.ok(names.has(name.split('.').at(-1) as string), name);
  });

  it('an authorization rule with a function compiles at load; an unknown function is a config error with its path', () => {
    assert.equal(ruleSetAllows(compileRuleSet(['cidr("127.0.0.1/8").containsIP(source.address)'], 'rules'), activation), true);
    assert.equal(ruleSetAllows(compileRuleSet(['cidr("127.0.0.1/8").containsIP(source.address)'], 'rules'), { ...activation, source: { address: '10.0.0.1' } }), false);
    // A rule whose function fails at evaluation (bad range) does not match: fail closed.
    assert.equal(ruleSetAllows(compileRuleSet(['cidr(request.headers["x-chaos"]).containsIP(source.address)'], 'rules'), activation), false);
    assert.throws(
      () => compileRuleSet(['cidrs("127.0.0.1/8").containsIP(source.address)'], 'routes[0].policies.authorization.rules'),
      (e: any) => e.code === 'PCL_ERR_CONFIG_INVALID' && /^routes\[0\]\.policies\.authorization\.rules\[0\]: invalid CEL rule "cidrs\(\\"127\.0\.0\.1\/8\\"\)\.containsIP\(source\.address\)": found no matching overload for 'cidrs\(string\)'/.test(e.message),
    );
  });
});

describe("traffic-http's ip rule end to end", () => {
  it('cidr("127.0.0.1/8").containsIP(source.address) allows a loopback caller and denies another range', async () => {
    const route = (prefix: string, rule: string) => ({ matches: [{ path: { pathPrefix: prefix } }], policies: { authorization: { rules: [rule] }, directResponse: { body: 'hello!', status: 200 } } });
    const gw = await startTestGateway(simpleConfig([route('/ips', 'cidr("127.0.0.1/8").containsIP(source.address)'), route('/other', 'cidr("10.0.0.0/8").containsIP(source.address)')] as never));
    try {
      const ok = await send(`${gw.url()}/ips`);
      assert.equal(ok.status, 200);
      assert.equal(ok.text, 'hello!');
      const denied = await send(`${gw.url()}/other`);
      assert.equal(denied.status, 403);
      assert.equal(denied.json().error.code, 'PCL_ERR_FORBIDDEN');
    } finally {
      await gw.close();
    }
  });
});
