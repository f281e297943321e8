// The WebAssembly binding (crates/tee-wasm) in Node on the shared vectors:
// the verdicts of INDEX.md, every failure a typed TeeError, and the same JSON
// text as `teectl verify` for the same inputs.
//
// Run by tests/wasm/run.sh:  node --test tests/wasm/verify.test.js
// Environment: TEE_WASM_PKG (wasm-bindgen --target nodejs output, default
// target/wasm-pkg), TEE_WASM_WEB_PKG (--target web output, the browser build,
// default target/wasm-pkg-web), TEE_WASM_RAW (the cargo-built .wasm, for the no-clock
// check), TEECTL (default target/debug/teectl), TEE_TEST_VECTORS (default
// ../shared/vectors beside the repository; with CI set, missing vectors fail).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { pathToFileURL } = require('node:url');

const root = path.resolve(__dirname, '..', '..');
const pkg = path.resolve(process.env.TEE_WASM_PKG || path.join(root, 'target', 'wasm-pkg'));
const raw = path.resolve(
  process.env.TEE_WASM_RAW ||
    path.join(root, 'target', 'wasm32-unknown-unknown', 'release', 'tee_wasm.wasm'),
);
const webPkg = path.resolve(process.env.TEE_WASM_WEB_PKG || path.join(root, 'target', 'wasm-pkg-web'));
const teectl = path.resolve(process.env.TEECTL || path.join(root, 'target', 'debug', 'teectl'));
const vectors = path.resolve(
  process.env.TEE_TEST_VECTORS || path.join(root, '..', 'shared', 'vectors'),
);

const tee = require(path.join(pkg, 'tee_wasm.js'));

const haveVectors = fs.existsSync(path.join(vectors, 'INDEX.md'));
if (!haveVectors && process.env.CI) {
  throw new Error(`test vectors not found at ${vectors} (set TEE_TEST_VECTORS); CI must not skip them`);
}
const needVectors = haveVectors ? {} : { skip: `test vectors not found at ${vectors}` };
const vec = (p) => fs.readFileSync(path.join(vectors, p));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tee-wasm-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
let files = 0;
/** Write `data` to a fresh file for teectl; its path. */
function file(data) {
  const p = path.join(work, `in${files++}`);
  fs.writeFileSync(p, data);
  return p;
}

const SNP_AT = '2025-01-01T00:00:00Z';
const TDX_AT = '2025-07-19T10:00:34Z';
const TDX_EXPIRED = '2025-08-01T00:00:00Z';
const secs = (t) => Date.parse(t) / 1000;
const LENIENT = 'allow_debug = true\nallow_any_measurement = true\n';
const hex = (b) => Buffer.from(b).toString('hex');

/** `teectl verify ARGS`: exit code and stdout. */
function cli(args) {
  const r = spawnSync(teectl, ['verify', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Call `fn`, expect a TeeError of class `cls`; the error. */
function rejects(fn, cls) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `expected a TeeError of class ${cls}, got a result`);
  assert.ok(err instanceof Error, `not an Error: ${err}`);
  assert.equal(err.name, 'TeeError');
  assert.equal(err.class, cls, err.message);
  return err;
}

/**
 * The binding and teectl on the same inputs: the same outcome, and on a
 * verdict the same JSON text (the binding's `verifyJson`, or a policy
 * failure's `resultJson`) and the same object.
 */
function same(args, cliArgs) {
  const c = cli(cliArgs);
  let text;
  let code = 0;
  try {
    text = tee.verifyJson(...args);
  } catch (e) {
    assert.equal(e.name, 'TeeError', String(e));
    code = e.exitCode;
    text = e.resultJson;
  }
  assert.equal(code, c.code, `binding exit class ${code}, teectl ${c.code}: ${c.stderr}`);
  if (text === undefined) {
    assert.equal(c.stdout, '', 'teectl printed claims where the binding gave none');
    return undefined;
  }
  assert.equal(text + '\n', c.stdout, 'the binding and teectl print different JSON');
  // The object form: JSON.parse of the same text.
  let obj;
  try {
    obj = tee.verify(...args);
  } catch (e) {
    obj = e.result;
  }
  assert.deepEqual(obj, JSON.parse(c.stdout));
  return obj;
}

test('SEV-SNP: genuine report, default policy refuses it, same JSON as teectl', needVectors, () => {
  const report = vec('go-sev-guest/attestation.bin');
  const vcek = vec('go-sev-guest/vcek.der');
  const ev = { snpReport: report, vcek };
  const opts = { allowUncheckedRevocation: true };
  const e = rejects(() => tee.verify(ev, undefined, undefined, secs(SNP_AT), undefined, opts), 'policy');
  assert.equal(e.exitCode, 4);
  assert.match(e.message, /^appraisal failed: /);
  assert.equal(e.result.platform, 'sev-snp');
  assert.equal(e.result.debug, true);
  assert.equal(e.result.appraisal.passed, false);
  assert.ok(e.result.report_data.startsWith('0102030405000000'));
  assert.equal(e.result.verified_at, SNP_AT);
  assert.ok(
    e.result.appraisal.checks.some((c) => c.name === 'debug' && c.outcome === 'failed'),
    'the debug guest must fail the default policy',
  );
  const r = file(report);
  const v = file(vcek);
  const base = ['--platform', 'sev-snp', '--report', r, '--vcek', v, '--at', SNP_AT, '--allow-unchecked-revocation'];
  const o = same([ev, undefined, undefined, secs(SNP_AT), undefined, opts], base);
  assert.equal(o.appraisal.passed, false);
  // The time as a bigint: the same result.
  const b = rejects(() => tee.verify(ev, null, null, BigInt(secs(SNP_AT)), null, opts), 'policy');
  assert.equal(b.resultJson, e.resultJson);
  // verifyJson keeps the 64-bit register words exact (JSON.parse rounds them).
  assert.match(e.resultJson, /"raw": 4901323769462652930/);

  // A policy that admits it, with its report data: passes.
  const rd = new Uint8Array(64);
  rd.set([1, 2, 3, 4, 5]);
  const ok = same(
    [ev, undefined, LENIENT, secs(SNP_AT), rd, opts],
    [...base, '--policy', file(LENIENT), '--report-data', hex(rd)],
  );
  assert.equal(ok.appraisal.passed, true);
  // Other report data: refused.
  const other = new Uint8Array(64).fill(7);
  const f = rejects(() => tee.verify(ev, undefined, LENIENT, secs(SNP_AT), other, opts), 'policy');
  assert.ok(f.result.appraisal.checks.some((c) => c.name === 'report_data' && c.outcome === 'failed'));
  // A policy that does not load: the caller's error, as teectl (exit 1).
  const p = rejects(() => tee.verify(ev, undefined, 'allow_debug = [nonsense', secs(SNP_AT), rd, opts), 'usage');
  assert.equal(p.exitCode, 1);
  assert.match(p.message, /^policy: /);
  // Without allowUncheckedRevocation (no CRL given): refused, as teectl.
  const g = rejects(() => tee.verify(ev, undefined, LENIENT, secs(SNP_AT), rd), 'policy');
  assert.ok(g.result.appraisal.checks.some((c) => c.name === 'sev-snp.revocation' && c.outcome === 'failed'));
  same(
    [ev, undefined, LENIENT, secs(SNP_AT), rd],
    ['--platform', 'sev-snp', '--report', r, '--vcek', v, '--at', SNP_AT, '--policy', file(LENIENT), '--report-data', hex(rd)],
  );
});

test('SEV-SNP: one flipped byte of the signed report is not authentic', needVectors, () => {
  const bad = Buffer.from(vec('go-sev-guest/attestation.bin'));
  bad[0x90] ^= 1;
  const vcek = vec('go-sev-guest/vcek.der');
  const ev = { snpReport: bad, vcek };
  const e = rejects(
    () => tee.verify(ev, undefined, LENIENT, secs(SNP_AT), undefined, { allowUncheckedRevocation: true }),
    'authenticity',
  );
  assert.equal(e.exitCode, 3);
  assert.equal(e.result, undefined);
  same(
    [ev, undefined, undefined, secs(SNP_AT), undefined, { allowUncheckedRevocation: true }],
    ['--platform', 'sev-snp', '--report', file(bad), '--vcek', file(vcek), '--at', SNP_AT, '--allow-unchecked-revocation'],
  );
  // A truncated report: malformed.
  rejects(() => tee.verify({ snpReport: bad.subarray(0, 100), vcek }, undefined, undefined, secs(SNP_AT)), 'malformed');
});

test('TDX: quote with QuoteCollateralV3 inside its window, UpToDate, same JSON as teectl', needVectors, () => {
  const quote = vec('dcap-qvl/tdx_quote');
  const coll = vec('dcap-qvl/tdx_quote_collateral.json');
  const ev = { tdxQuote: quote };
  const base = ['--platform', 'tdx', '--quote', file(quote), '--collateral', file(coll), '--at', TDX_AT];
  // Default policy: verified, then refused (no report data, no reference value).
  const o = same([ev, coll, undefined, secs(TDX_AT)], base);
  assert.equal(o.platform, 'tdx');
  assert.equal(o.claims.platform_claims.tdx.tcb_status, 'UpToDate');
  assert.equal(o.appraisal.passed, false);
  // With the quote's report data and a policy that accepts it: passes.
  const rd = Buffer.from(o.report_data, 'hex');
  assert.equal(rd.length, 64);
  const ok = same(
    [ev, coll, LENIENT, secs(TDX_AT), rd],
    [...base, '--policy', file(LENIENT), '--report-data', o.report_data],
  );
  assert.equal(ok.appraisal.passed, true);
  assert.equal(tee.verify(ev, coll, LENIENT, secs(TDX_AT), new Uint8Array(rd)).appraisal.passed, true);
});

test('TDX: after the collateral window, without collateral, or with bad collateral: no verdict', needVectors, () => {
  const quote = vec('dcap-qvl/tdx_quote');
  const coll = vec('dcap-qvl/tdx_quote_collateral.json');
  const ev = { tdxQuote: quote };
  const e = rejects(() => tee.verify(ev, coll, LENIENT, secs(TDX_EXPIRED)), 'authenticity');
  assert.match(e.message, /expired/);
  same(
    [ev, coll, undefined, secs(TDX_EXPIRED)],
    ['--platform', 'tdx', '--quote', file(quote), '--collateral', file(coll), '--at', TDX_EXPIRED],
  );
  // No collateral: the TCB cannot be evaluated; never a verdict.
  let err;
  try {
    tee.verify(ev, undefined, LENIENT, secs(TDX_AT));
  } catch (x) {
    err = x;
  }
  assert.ok(err && err.name === 'TeeError', 'TDX without collateral must not verify');
  assert.notEqual(err.class, 'policy');
  rejects(() => tee.verify(ev, new TextEncoder().encode('not json'), undefined, secs(TDX_AT)), 'malformed');
  rejects(() => tee.verify({ tdxQuote: quote.subarray(0, 100) }, coll, undefined, secs(TDX_AT)), 'malformed');
});

test('collateral bundles (teectl collateral bundle): the offline manager inside the module, same JSON as teectl', needVectors, () => {
  /** A bundle written by teectl from local files; its bytes and path. */
  const bundle = (args) => {
    const out = path.join(work, `bundle${files++}.json`);
    const r = spawnSync(teectl, ['collateral', 'bundle', '--out', out, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return [fs.readFileSync(out), out];
  };
  // SEV-SNP v3 (its product is in the report): the VCEK comes from the bundle.
  const report = vec('ms-tee-av/milan_attestation_report.bin');
  const r = file(report);
  const [snpBundle, snpPath] = bundle(['--snp-report', r, '--vcek', file(vec('ms-tee-av/milan_vcek.pem'))]);
  const at = '2026-03-01T00:00:00Z';
  const o = same(
    [{ snpReport: report }, snpBundle, undefined, secs(at), undefined, { allowUncheckedRevocation: true }],
    ['--platform', 'sev-snp', '--report', r, '--collateral', snpPath, '--at', at, '--allow-unchecked-revocation'],
  );
  assert.equal(o.platform, 'sev-snp');
  assert.equal(o.signing_key, 'vcek');
  // The bundle holds no CRL: without allowUncheckedRevocation, no verdict (fail closed).
  const e = rejects(() => tee.verify({ snpReport: report }, snpBundle, undefined, secs(at)), 'authenticity');
  assert.match(e.message, /unavailable/);
  same([{ snpReport: report }, snpBundle, undefined, secs(at)], ['--platform', 'sev-snp', '--report', r, '--collateral', snpPath, '--at', at]);

  // TDX: the QuoteCollateralV3 inside a bundle, in and after its window.
  const quote = vec('dcap-qvl/tdx_quote');
  const q = file(quote);
  const [tdxBundle, tdxPath] = bundle(['--tdx-quote', q, '--tdx-collateral', file(vec('dcap-qvl/tdx_quote_collateral.json'))]);
  const t = same(
    [{ tdxQuote: quote }, tdxBundle, undefined, secs(TDX_AT)],
    ['--platform', 'tdx', '--quote', q, '--collateral', tdxPath, '--at', TDX_AT],
  );
  assert.equal(t.claims.platform_claims.tdx.tcb_status, 'UpToDate');
  rejects(() => tee.verify({ tdxQuote: quote }, tdxBundle, undefined, secs(TDX_EXPIRED)), 'authenticity');
  same([{ tdxQuote: quote }, tdxBundle, undefined, secs(TDX_EXPIRED)], ['--platform', 'tdx', '--quote', q, '--collateral', tdxPath, '--at', TDX_EXPIRED]);
  // A bundle that does not load: malformed input, as tee-verify classes it
  // (teectl, which also opens store directories, exits 1 for any bundle or
  // store error).
  const broken = Buffer.from(tdxBundle.toString('utf8').replace('"artifacts"', '"artefacts"'));
  rejects(() => tee.verify({ tdxQuote: quote }, broken, undefined, secs(TDX_AT)), 'malformed');
  assert.equal(cli(['--platform', 'tdx', '--quote', q, '--collateral', file(broken), '--at', TDX_AT]).code, 1);
});

test('evidence JSON (string or bytes): attestation-rs SEV-SNP and Azure vTPM shapes, same JSON as teectl', needVectors, () => {
  const at = '2026-03-01T00:00:00Z';
  const genoa = vec('attestation-rs/snp/live-evidence-genoa.json');
  const opts = { allowUncheckedRevocation: true };
  const fromBytes = same(
    [genoa, undefined, undefined, secs(at), undefined, opts],
    ['--evidence', file(genoa), '--at', at, '--allow-unchecked-revocation'],
  );
  assert.equal(fromBytes.platform, 'sev-snp');
  const s = rejects(() => tee.verify(genoa.toString('utf8'), undefined, undefined, secs(at), undefined, opts), 'policy');
  assert.deepEqual(s.result, fromBytes);
  // Before the inline VCEK's validity: not authentic.
  rejects(() => tee.verify(genoa, undefined, undefined, secs('2025-06-01T00:00:00Z'), undefined, opts), 'authenticity');

  const az = vec('attestation-rs/az_snp/live-evidence.json');
  const policy = 'allow_vtpm = true\nallow_any_measurement = true\n';
  const a = same(
    [az, undefined, policy, secs(at), undefined, opts],
    ['--evidence', file(az), '--at', at, '--allow-unchecked-revocation', '--policy', file(policy)],
  );
  assert.equal(a.platform, 'sev-snp');
  assert.ok(a.vtpm, 'Azure evidence carries the vTPM claims');

  // Not evidence at all.
  rejects(() => tee.verify('{', undefined, undefined, secs(at)), 'malformed');
  same([new TextEncoder().encode('{"platform":"nope"}'), undefined, undefined, secs(at)], ['--evidence', file('{"platform":"nope"}'), '--at', at]);
});

test('arguments are checked: usage errors, never a verdict', () => {
  const ev = { tdxQuote: new Uint8Array(10) };
  const at = 1752919234;
  // The time is required: no clock is read.
  rejects(() => tee.verify(ev, undefined, undefined, undefined), 'usage');
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, '1752919234', -1n, 2n ** 64n, {}]) {
    rejects(() => tee.verify(ev, undefined, undefined, bad), 'usage');
  }
  rejects(() => tee.verify(42, undefined, undefined, at), 'usage');
  rejects(() => tee.verify(null, undefined, undefined, at), 'usage');
  rejects(() => tee.verify([1, 2], undefined, undefined, at), 'usage');
  rejects(() => tee.verify({}, undefined, undefined, at), 'usage');
  rejects(() => tee.verify({ tdxQuote: new Uint8Array(1), snpReport: new Uint8Array(1) }, undefined, undefined, at), 'usage');
  rejects(() => tee.verify({ tdxQuote: new Uint8Array(1), quote: 1 }, undefined, undefined, at), 'usage');
  rejects(() => tee.verify({ tdxQuote: 'abc' }, undefined, undefined, at), 'usage');
  rejects(() => tee.verify({ snpReport: new Uint8Array(1), chain: 'x' }, undefined, undefined, at), 'usage');
  rejects(() => tee.verify({ snpReport: new Uint8Array(1), chain: Array(9).fill(new Uint8Array(1)) }, undefined, undefined, at), 'usage');
  rejects(() => tee.verify(ev, 'collateral as text', undefined, at), 'usage');
  rejects(() => tee.verify(ev, undefined, 42, at), 'usage');
  rejects(() => tee.verify(ev, undefined, undefined, at, new Uint8Array(63)), 'usage');
  rejects(() => tee.verify(ev, undefined, undefined, at, 'aa'), 'usage');
  // A misspelt or mistyped option is an error, not silently ignored.
  rejects(() => tee.verify(ev, undefined, undefined, at, undefined, { allowUncheckedRevokation: true }), 'usage');
  rejects(() => tee.verify(ev, undefined, undefined, at, undefined, { trustMockRoot: 'yes' }), 'usage');
  rejects(() => tee.verify(ev, undefined, undefined, at, undefined, 'trustMockRoot'), 'usage');
  // Sizes are bounded before anything is copied or parsed.
  rejects(() => tee.verify(new Uint8Array((16 << 20) + 1), undefined, undefined, at), 'malformed');
  rejects(() => tee.verify({ tdxQuote: new Uint8Array((64 << 10) + 1) }, undefined, undefined, at), 'malformed');
  rejects(() => tee.verify({ snpReport: new Uint8Array((4 << 10) + 1) }, undefined, undefined, at), 'malformed');
  rejects(() => tee.verify(ev, undefined, ' '.repeat((1 << 20) + 1), at), 'malformed');
  // An ArrayBuffer is accepted like a Uint8Array.
  rejects(() => tee.verify(new TextEncoder().encode('{').buffer, undefined, undefined, at), 'malformed');
  // After every failure the module still works (no trap, no poisoned state).
  rejects(() => tee.verify('{}', undefined, undefined, at), 'malformed');
});

const webGlue = path.join(webPkg, 'tee_wasm.js');
const needWeb = !haveVectors
  ? needVectors
  : fs.existsSync(webGlue) || process.env.CI
    ? {}
    : { skip: `no browser build at ${webPkg} (tests/wasm/run.sh builds it)` };
test('the browser build (wasm-bindgen --target web, an ES module) gives the same results', needWeb, async () => {
  const glue = webGlue;
  const web = await import(pathToFileURL(glue).href);
  // As in a browser, the module is instantiated from bytes (there: fetch()).
  await web.default({ module_or_path: fs.readFileSync(path.join(webPkg, 'tee_wasm_bg.wasm')) });
  const ev = { snpReport: vec('go-sev-guest/attestation.bin'), vcek: vec('go-sev-guest/vcek.der') };
  const args = [ev, undefined, undefined, secs(SNP_AT), undefined, { allowUncheckedRevocation: true }];
  const a = rejects(() => web.verifyJson(...args), 'policy');
  const b = rejects(() => tee.verifyJson(...args), 'policy');
  assert.equal(a.resultJson, b.resultJson);
  const quote = { tdxQuote: vec('dcap-qvl/tdx_quote') };
  const coll = vec('dcap-qvl/tdx_quote_collateral.json');
  const rd = Buffer.from(b.result.report_data, 'hex');
  rejects(() => web.verify(quote, coll, LENIENT, secs(TDX_EXPIRED)), 'authenticity');
  const t = rejects(() => web.verify(quote, coll, LENIENT, secs(TDX_AT), rd), 'policy');
  assert.equal(t.result.claims.platform_claims.tdx.tcb_status, 'UpToDate');
  const tdxRd = Buffer.from(t.result.report_data, 'hex');
  assert.equal(web.verifyJson(quote, coll, LENIENT, secs(TDX_AT), tdxRd), tee.verifyJson(quote, coll, LENIENT, secs(TDX_AT), tdxRd));
});

test('the module reads no clock and imports nothing but its JavaScript glue', () => {
  const bytes = fs.readFileSync(path.join(pkg, 'tee_wasm_bg.wasm'));
  const mod = new WebAssembly.Module(bytes);
  const modules = new Set(WebAssembly.Module.imports(mod).map((i) => i.module));
  assert.deepEqual([...modules], ['./tee_wasm_bg.js']);
  // Nor a random source: nothing on the verification path draws randomness.
  const random = WebAssembly.Module.imports(mod).filter((i) => /random|crypto/i.test(i.name));
  assert.deepEqual(random, []);
  // The cargo-built module keeps its function names: none of std's clock
  // reads (they panic on wasm32-unknown-unknown) is linked at all.
  const names = nameSection(fs.readFileSync(raw)).toString('latin1');
  assert.ok(names.includes('tee_verify') && names.includes('tee_wasm'), 'no function names in the module');
  for (const f of ['10SystemTime3now', '7Instant3now']) {
    assert.ok(!names.includes(f), `std::time::${f.replace(/^\d+/, '').replace('3now', '::now')} is linked`);
  }
});

/** The `name` custom section of a WebAssembly module. */
function nameSection(b) {
  const leb = (i) => {
    let r = 0;
    let s = 0;
    for (;;) {
      const x = b[i++];
      r += (x & 0x7f) * 2 ** s;
      s += 7;
      if (x < 0x80) return [r, i];
    }
  };
  let i = 8;
  while (i < b.length) {
    const id = b[i++];
    const [size, body] = leb(i);
    const end = body + size;
    if (id === 0) {
      const [n, j] = leb(body);
      if (b.subarray(j, j + n).toString('latin1') === 'name') return b.subarray(j + n, end);
    }
    i = end;
  }
  throw new Error('no name section (build with debug info: [profile.release] debug = 1)');
}
