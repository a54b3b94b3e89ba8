import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { HostRoot, ensureDir, writeFileAtomic, type WriteOps } from '../../src/fs';
import { tempDir } from '../support/temp';

const tmp = () => tempDir('elemental-fs-');
const mode = (p: string) => fs.statSync(p).mode & 0o777;

test('HostRoot resolves absolute host paths under the root, once, in one place', () => {
  const r = new HostRoot('/sysroot');
  assert.is(r.resolve('/etc/hostname'), '/sysroot/etc/hostname');
  assert.is(r.resolve('/etc/../etc/hostname'), '/sysroot/etc/hostname');
  assert.is(r.resolve('/../../etc/shadow'), '/sysroot/etc/shadow');
  assert.is(new HostRoot('/').resolve('/etc/hostname'), '/etc/hostname');
  assert.is(new HostRoot('/sysroot/').resolve('/x'), '/sysroot/x');
  assert.is(r.resolve('relative/config.yaml'), join(process.cwd(), 'relative/config.yaml'));
});

test('atomic write creates the file with the exact mode, whatever the umask', () => {
  const dir = tmp();
  const old = process.umask(0o077);
  try {
    writeFileAtomic(join(dir, 'a'), 'hello\n', 0o644);
    writeFileAtomic(join(dir, 'key'), 'secret\n', 0o600);
  } finally {
    process.umask(old);
  }
  assert.is(fs.readFileSync(join(dir, 'a'), 'utf8'), 'hello\n');
  assert.is(mode(join(dir, 'a')), 0o644);
  assert.is(mode(join(dir, 'key')), 0o600);
  assert.equal(fs.readdirSync(dir).sort(), ['a', 'key']);
});

test('atomic write of a large string is byte-exact, surrogate pairs included', () => {
  const dir = tmp();
  // An emoji straddles every 1 MiB piece boundary of the writer.
  const text = `${'a'.repeat((1 << 20) - 1)}😀${'é'.repeat(1 << 20)}😀${'z'.repeat(12345)}`;
  writeFileAtomic(join(dir, 'big'), text, 0o644);
  assert.ok(fs.readFileSync(join(dir, 'big')).equals(Buffer.from(text, 'utf8')));
});

test('atomic write replaces content and mode of an existing file', () => {
  const dir = tmp();
  const p = join(dir, 'config.yaml');
  fs.writeFileSync(p, 'old\n', { mode: 0o666 });
  writeFileAtomic(p, 'new\n', 0o640);
  assert.is(fs.readFileSync(p, 'utf8'), 'new\n');
  assert.is(mode(p), 0o640);
});

test('an interrupted write leaves the old content and no temp file', () => {
  const dir = tmp();
  const p = join(dir, 'install.yaml');
  fs.writeFileSync(p, 'old content\n');
  const big = Buffer.alloc(256 * 1024, 'x');
  let written = 0;
  const failing: WriteOps = {
    ...fs,
    // Writes part of the data, then fails as a full disk would.
    writeSync: (fd, buffer, offset, length) => {
      if (written > 0) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      written = fs.writeSync(fd, buffer, offset, Math.min(length, 4096));
      return written;
    },
  };
  assert.throws(() => writeFileAtomic(p, big, 0o644, failing), /ENOSPC/);
  assert.is(fs.readFileSync(p, 'utf8'), 'old content\n');
  assert.equal(fs.readdirSync(dir), ['install.yaml']);
});

test('a failed fsync or rename leaves no partial target', () => {
  const dir = tmp();
  const p = join(dir, 'new-file');
  assert.throws(() => writeFileAtomic(p, 'data', 0o644, { ...fs, fsyncSync: () => { throw new Error('EIO'); } }), /EIO/);
  assert.not.ok(fs.existsSync(p));
  assert.throws(() => writeFileAtomic(p, 'data', 0o644, { ...fs, renameSync: () => { throw new Error('EXDEV'); } }), /EXDEV/);
  assert.not.ok(fs.existsSync(p));
  assert.equal(fs.readdirSync(dir), []);
});

test('temp files left by a killed writer are removed by the next write; a live writer\'s are kept', () => {
  const dir = tmp();
  const dead = join(dir, '.config.yaml.999999999.0badc0de.tmp');
  const alive = join(dir, `.config.yaml.${process.ppid}.0badc0de.tmp`);
  const other = join(dir, '.install.yaml.999999999.0badc0de.tmp');
  for (const f of [dead, alive, other]) fs.writeFileSync(f, 'partial');
  writeFileAtomic(join(dir, 'config.yaml'), 'new\n', 0o640);
  assert.not.ok(fs.existsSync(dead));
  assert.ok(fs.existsSync(alive), 'a running writer keeps its temp file');
  assert.ok(fs.existsSync(other), 'only temps of the file written are touched');
});

test('ensureDir creates the directory with its mode and missing parents 0755', () => {
  const dir = tmp();
  const old = process.umask(0o077);
  try {
    ensureDir(join(dir, 'a/b/c'), 0o755);
    ensureDir(join(dir, 'var/lib/elemental/agent'), 0o700);
    ensureDir(join(dir, 'work'), 0o700);
  } finally {
    process.umask(old);
  }
  for (const d of ['a', 'a/b', 'a/b/c', 'var', 'var/lib', 'var/lib/elemental']) assert.is(mode(join(dir, d)), 0o755, d);
  assert.is(mode(join(dir, 'var/lib/elemental/agent')), 0o700);
  assert.is(mode(join(dir, 'work')), 0o700);
  fs.chmodSync(join(dir, 'work'), 0o750);
  ensureDir(join(dir, 'work'), 0o700); // existing directories are left as the operator set them
  assert.is(mode(join(dir, 'work')), 0o750);
  fs.writeFileSync(join(dir, 'file'), '');
  assert.throws(() => ensureDir(join(dir, 'file'), 0o700), /not a directory/);
});

test.run();
