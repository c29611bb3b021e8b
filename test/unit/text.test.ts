import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PROFILE_STRING_MAX, TRUNCATION_MARKER, quoted, safeText } from '../../workflows/text.js';

void describe('safeText', () => {
  void test('plain text is unchanged', () => {
    assert.equal(safeText('ClusterProfile fleet/spoke-1: status.accessProviders[0] — ok', 200), 'ClusterProfile fleet/spoke-1: status.accessProviders[0] — ok');
    assert.equal(safeText('emoji 🚀 and ünïcödé', 100), 'emoji 🚀 and ünïcödé');
  });

  const escapes: [string, string, string][] = [
    ['ESC (C0)', '\u001b[31m', '\\x1b[31m'],
    ['NUL', 'a\u0000b', 'a\\x00b'],
    ['newline, CR and tab', 'a\nb\rc\td', 'a\\nb\\rc\\td'],
    ['DEL', '\u007f', '\\x7f'],
    ['C1 CSI', '\u009b2J', '\\x9b2J'],
    ['bidi override', 'abc\u202edef', 'abc\\u202edef'],
    ['bidi isolate', '\u2066x\u2069', '\\u2066x\\u2069'],
    ['line separator', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['zero-width space and BOM', '\u200bx\ufeff', '\\u200bx\\ufeff'],
    ['tag character (astral format)', 'x\u{e0041}', 'x\\u{e0041}'],
    ['lone surrogate', 'x\ud800y', 'x\\ud800y'],
  ];
  for (const [what, input, expected] of escapes) {
    void test(`escapes ${what} visibly`, () => assert.equal(safeText(input, 100), expected));
  }

  void test('caps length with a marker, counting the marker and escapes', () => {
    const out = safeText('x'.repeat(1000), 50);
    assert.equal(out.length, 50);
    assert.ok(out.endsWith(TRUNCATION_MARKER));
    assert.equal(safeText('\u001b'.repeat(100), 40).length <= 40, true);
  });

  void test('a 1 MB string costs no more than the cap', () => {
    const out = safeText('a'.repeat(1024 * 1024), PROFILE_STRING_MAX);
    assert.equal(out.length, PROFILE_STRING_MAX);
  });

  void test('does not split a surrogate pair when cutting', () => {
    const out = safeText(`${'a'.repeat(10)}${'🚀'.repeat(20)}`, 25);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(out), out);
  });

  void test('is idempotent', () => {
    for (const s of ['\u001b[2J x', 'y'.repeat(500), `z\u202e${'w'.repeat(300)}`]) {
      const once = safeText(s, 100);
      assert.equal(safeText(once, 100), once);
    }
  });

  void test('quoted() caps at PROFILE_STRING_MAX and quotes', () => {
    const q = quoted('c'.repeat(10_000));
    assert.equal(q.length, PROFILE_STRING_MAX + 2);
    assert.ok(q.startsWith('"') && q.endsWith('"'));
  });
});
