// The helpers of issue 15's fixes: quote() for server strings in messages, printable() for
// mixed text, unsafeOwnership() for plugin files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printable, quote } from '../../src/errors';
import { unsafeOwnership } from '../../src/plugins';

test('quote: JSON string syntax, cut with "..." after the quote, invisible and C1 controls escaped too', () => {
  assert.is(quote('plain'), '"plain"');
  assert.is(quote('a\nb\x1b[2J'), '"a\\nb\\u001b[2J"');
  assert.is(quote('a"\u202eb\u009b\u2028'), '"a\\"\\u202eb\\u009b\\u2028"');
  assert.is(quote('x'.repeat(20), 5), '"xxxxx"...');
  assert.is(quote(`ab${'😀'}`, 3), '"ab"...', 'a surrogate pair is never split');
  assert.is(quote('\ud800'), '"\\ud800"', 'a lone surrogate is escaped');
});

test('printable: every control character escaped, newline and tab included; no quotes added', () => {
  assert.is(printable('Unexpected token \n in "\x1b[2J"'), 'Unexpected token \\u000a in "\\u001b[2J"');
  assert.is(printable('abcdef', 3), 'abc...');
  assert.is(printable('é ü 中文 😀'), 'é ü 中文 😀', 'printable text is left alone');
});

test('unsafeOwnership: as a user other than root, root\'s and that user\'s files are trusted, nobody else\'s', () => {
  const dir = mkdtempSync(join(tmpdir(), 'elemental-owner-'));
  try {
    const file = join(dir, 'p.mjs');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    chmodSync(dir, 0o755);
    assert.is(unsafeOwnership(file, 1234), undefined, 'root-owned, nobody else writes');
    if (process.getuid?.() === 0) {
      chownSync(file, 1234, 1234);
      assert.is(unsafeOwnership(file, 1234), undefined, "the agent user's own file");
      assert.match(unsafeOwnership(file, 0) ?? '', /the plugin file is owned by uid 1234, not by root$/);
      assert.match(unsafeOwnership(file, 999) ?? '', /owned by uid 1234, not by root or the agent user/);
      mkdirSync(join(dir, 'sub'));
      chownSync(join(dir, 'sub'), 1234, 1234);
      chmodSync(join(dir, 'sub'), 0o1777);
      writeFileSync(join(dir, 'sub/q.mjs'), '');
      assert.match(unsafeOwnership(join(dir, 'sub/q.mjs'), 1234) ?? '', /directory ".*sub" is writable by its group and others \(mode 1777\)/, 'sticky counts only for root');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
