// pluginJson: the bytes a plugin receives for install, reset, cloudConfig and
// osVersionManagement are those of the reference's json.Marshal(map[string]RawExtension).
// The expected strings are what Go's encoding/json writes for the same maps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pluginJson } from '../../src/phases/common';

test('absent objects are {} (the reference passes null, SPEC §13)', () => {
  assert.is(pluginJson(undefined), '{}');
  assert.is(pluginJson(null), '{}');
  assert.is(pluginJson({}), '{}');
});

test('top-level keys in Go order (UTF-8 bytes), nested values in the server\'s order', () => {
  assert.is(pluginJson({ foo: 'bar', bar: 'foo' }), '{"bar":"foo","foo":"bar"}');
  assert.is(pluginJson({ b: { z: 1, a: 2 }, a: [3, { y: 1, x: 2 }] }), '{"a":[3,{"y":1,"x":2}],"b":{"z":1,"a":2}}');
  assert.is(pluginJson({ k2: 1, k10: 2, K: 3 }), '{"K":3,"k10":2,"k2":1}', 'byte order: upper case first, "k10" < "k2"');
  // U+FFFD is EF BF BD in UTF-8, U+1F600 is F0 9F 98 80: Go puts U+FFFD first, JS's sort would not.
  assert.is(pluginJson({ '\u{1f600}': 1, '\ufffd': 2 }), '{"\ufffd":2,"\u{1f600}":1}');
});

test('keys an object would list first (array indexes) are still in Go order', () => {
  assert.is(pluginJson({ b: 1, 10: 2, 2: 3 }), '{"10":2,"2":3,"b":1}');
  assert.is(pluginJson(JSON.parse('{"__proto__":{"x":1},"a":2,"0":3}')), '{"0":3,"__proto__":{"x":1},"a":2}');
  assert.is(pluginJson(JSON.parse('{"z":0,"__proto__":1}')), '{"__proto__":1,"z":0}', '"__proto__" stays a key');
});

test('<, >, &, U+2028 and U+2029 are escaped as Go escapes them', () => {
  assert.is(pluginJson({ html: '<a href="x">&</a>', ls: '\u2028\u2029' }), '{"html":"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e","ls":"\\u2028\\u2029"}');
  assert.is(pluginJson({ '<k>': 1 }), '{"\\u003ck\\u003e":1}');
  assert.equal(JSON.parse(pluginJson({ html: '<&>' })), { html: '<&>' }, 'the same value for a JSON reader');
});

test.run();
