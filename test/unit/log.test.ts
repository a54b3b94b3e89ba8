// Log decoration by the kind of stderr (journal, TTY, anything else), without spawning.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { log, logStyleFor, renderLines, setLogSink } from '../../src/log';

test('journal only when JOURNAL_STREAM is exactly the device:inode of stderr', () => {
  assert.is(logStyleFor({ isTTY: false, devIno: '8:42', journalStream: '8:42' }), 'journal');
  assert.is(logStyleFor({ isTTY: false, devIno: '8:42', journalStream: '8:43' }), 'plain');
  assert.is(logStyleFor({ isTTY: false, devIno: undefined, journalStream: '8:42' }), 'plain');
  assert.is(logStyleFor({ isTTY: true, devIno: '8:42', journalStream: undefined }), 'tty');
  assert.is(logStyleFor({ isTTY: false, devIno: '8:42', journalStream: '' }), 'plain');
});

test('sd-daemon priorities: error 3, warning 4, info 6, debug 7; every line of a message', () => {
  assert.is(renderLines('ERROR', 'boom', 'journal'), '<3>ERROR boom\n');
  assert.is(renderLines('WARN', 'careful', 'journal'), '<4>WARN  careful\n');
  assert.is(renderLines('INFO', 'hello', 'journal'), '<6>INFO  hello\n');
  assert.is(renderLines('DEBUG', 'a\n    at b', 'journal'), '<7>DEBUG a\n<7>DEBUG     at b\n');
});

test('plain: an ISO 8601 UTC timestamp on every line; tty: the level only', () => {
  const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  assert.is(renderLines('WARN', 'x\ny', 'plain', { now }), '2026-01-02T03:04:05.678Z WARN  x\n2026-01-02T03:04:05.678Z WARN  y\n');
  assert.is(renderLines('INFO', 'x', 'tty', { colour: false }), 'INFO  x\n');
});

test('no control or invisible character but the newline reaches a log line; a tab is a space', () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    log.info('a\tb\u0000c\u001bd\u007fe\u0085f\u00adg\u200bh\u202ei\u2028j\u2066k\ufeffl\nnext');
  } finally {
    restore();
  }
  assert.equal(lines, ['INFO  a b\\u0000c\\u001bd\\u007fe\\u0085f\\u00adg\\u200bh\\u202ei\\u2028j\\u2066k\\ufeffl\nINFO  next\n']);
});

test.run();
